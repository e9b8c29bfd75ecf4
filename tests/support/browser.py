"""Debian's headless Chromium, driven through the DevTools protocol over a pipe.

`--remote-debugging-pipe` makes Chromium read protocol commands on fd 3 and write answers and
events on fd 4, each a JSON message ended by a NUL byte (the transport Puppeteer and Playwright
use). That needs no websocket client, no debugging port and no package beyond the standard
library: the browser is the only moving part, and Debian pins it.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from tests.support.common import install_missing

VIEWPORT = {"width": 1280, "height": 800}


def ensure_chromium() -> tuple[str | None, str]:
    """The chromium binary, installed from Debian when missing and installing is allowed
    (tests/support/common.py: install_missing); else None and why, in one line. An install that
    was asked for and failed raises RuntimeError."""
    why_not = install_missing("Chromium", {"chromium": "chromium"}, recommends=True)  # fonts
    if why_not:
        return None, why_not
    return shutil.which("chromium"), ""


def _as_fds_3_and_4(read_end: int, write_end: int) -> None:
    """In the child: the pipe ends as fd 3 and 4 (through copies, so neither clobbers the
    other)."""
    read_copy, write_copy = os.dup(read_end), os.dup(write_end)
    os.dup2(read_copy, 3)
    os.dup2(write_copy, 4)


class Browser:
    """One headless Chromium with one page (a tab) that navigates, evaluates and shoots."""

    def __init__(self, binary: str, profile_dir: Path, timeout: float = 30):
        self.timeout = timeout
        self._next_id = 0
        self._buffer = b""
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # fd 3 and 4 in the child: its protocol input and output
        self.process = subprocess.Popen(
            [
                binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--hide-scrollbars", "--disable-dev-shm-usage", "--remote-debugging-pipe",
                f"--user-data-dir={profile_dir}", "about:blank",
            ],
            pass_fds=(3, 4),
            preexec_fn=lambda: _as_fds_3_and_4(to_browser_r, from_browser_w),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(to_browser_r)
        os.close(from_browser_w)
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        attached = self.send("Target.attachToTarget", targetId=target, flatten=True)
        self.session = attached["sessionId"]
        self.send("Page.enable", session=self.session)
        self.send("Emulation.setDeviceMetricsOverride", session=self.session,
                  deviceScaleFactor=1, mobile=False, **VIEWPORT)  # fmt: skip

    def _read_message(self) -> dict:
        while b"\0" not in self._buffer:
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed its DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, session: str | None = None, **params) -> dict:
        """One command; returns its result (events that arrive meanwhile are dropped)."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        return self._wait(lambda m: m.get("id") == self._next_id)

    def _wait(self, wanted) -> dict:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            message = self._read_message()
            if wanted(message):
                if "error" in message:
                    raise RuntimeError(f"DevTools error: {message['error']}")
                return message.get("result", message.get("params", {}))
        raise TimeoutError("no answer from chromium")

    def open(self, url: str) -> None:
        """Navigate and wait for the load event (images included)."""
        answer = self.send("Page.navigate", session=self.session, url=url)
        if answer.get("errorText"):
            raise RuntimeError(f"{url}: {answer['errorText']}")
        self._wait(lambda m: m.get("method") == "Page.loadEventFired")

    def evaluate(self, expression: str):
        answer = self.send(
            "Runtime.evaluate", session=self.session, expression=expression, returnByValue=True
        )
        return answer["result"].get("value")

    def screenshot(self, path: Path) -> None:
        shot = self.send("Page.captureScreenshot", session=self.session, format="png")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)
