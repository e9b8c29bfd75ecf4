"""A stand-in for the Hugging Face Hub on 127.0.0.1, for tests that drive the real HfApi client.

It serves the fixtures in tests/support/hub_fixtures/ through the routes of the real Hub, with the
status codes, headers and error shapes that huggingface_hub parses:

* GET /api/models: tag search (`filter`, AND-ed), `search`, `author`, `sort` (descending), `expand`,
  `full`, `config`; pages of `page_size` linked by a `Link: <...&cursor=...>; rel="next"` header.
  Private repos are listed only to a caller that sends a token (the owner's view).
* GET /api/models/{id}[/revision/{rev}]: model info; `blobs=true` adds size, blobId and lfs to
  siblings (files_metadata=True); `expand` returns only the asked fields.
* GET /api/models/{id}/tree/{rev}: the file listing snapshot_download reads.
* HEAD/GET /{id}/resolve/{rev}/{file}: small files answer 200 with ETag (git blob id),
  X-Repo-Commit and Content-Length; LFS files answer 302 to a second listener (the "CDN", another
  origin, so the client drops the Authorization header) with X-Linked-Etag (sha256) and
  X-Linked-Size, as the Hub does. Both honour Range requests (safetensors headers are read so).
* Pull requests (the calls of create_commit(create_pr=True) and get_repo_discussions):
  POST /api/validate-yaml; POST /api/models/{id}/preupload/{rev} (upload mode per file);
  POST /api/models/{id}/commit/{rev}?create_pr=1 (NDJSON header and files; a token is required,
  and only pull requests are accepted: a direct push answers 403); GET
  /api/models/{id}/discussions (`type`, `status`, `author`, pages of `p`). Opened pull requests
  are kept in FakeHub.pull_requests, their files beside them. A safetensors conversion
  (FakeHub.add_conversion) is a pull request whose ref (refs/pr/N) and commit serve its files.
* GET /api/datasets/{id}[/revision/{rev}]: a dataset's info at a branch (FakeHub.datasets).
* Errors: unknown or private repo -> 401 without token / 404 with one (X-Error-Code RepoNotFound);
  gated repo files -> 401/403 X-Error-Code GatedRepo; disabled repo files -> 403 "Access to this
  resource is disabled."; unknown revision -> 404 RevisionNotFound; missing file -> 404
  EntryNotFound. Renamed repos (renamed_repos.json) answer 307 to their new name.

File contents: config.json from config_files.json, weights generated from weights.json (tiny real
safetensors / torch files), every other listed file a small placeholder. The content-derived
fields of the info documents (siblings' size, blobId, lfs; safetensors counts) are recomputed from
these contents at load, so that they cannot drift from what is served.

`FakeHub.stop()` closes both ports: the client then gets "connection refused", like a machine with
no network.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
import threading
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

FIXTURES = Path(__file__).parent / "hub_fixtures"
# Suffixes the Hub's default .gitattributes stores in LFS.
LFS_SUFFIXES = (".safetensors", ".bin", ".h5", ".msgpack", ".onnx", ".ot", ".model")
# Fields of a listing item when neither `expand` nor `full` is given, and what `full` adds.
LISTING_FIELDS = (
    "likes",
    "private",
    "downloads",
    "tags",
    "pipeline_tag",
    "library_name",
    "createdAt",
    "modelId",
)
FULL_FIELDS = ("author", "sha", "lastModified", "gated", "disabled", "siblings")
SORT_KEYS = {"downloads", "likes", "lastModified", "createdAt", "trendingScore"}
POSITIONS = 20
DISCUSSIONS_PAGE = 50  # discussions per page, as the Hub pages them


# --- file contents ---------------------------------------------------------------------------


def tiny_state_dict(spec: dict) -> dict:
    """Deterministic random weights named like a transformers encoder (prefix.embeddings...,
    prefix.encoder.layer.N..., then the task head named in spec["head"]). spec["position_ids"]
    adds the int64 buffer `prefix.embeddings.position_ids` that transformers 4.x saved."""
    import torch

    h, inter, vocab, prefix = spec["hidden"], spec["intermediate"], spec["vocab"], spec["prefix"]
    shapes = {
        f"{prefix}.embeddings.word_embeddings.weight": (vocab, h),
        f"{prefix}.embeddings.position_embeddings.weight": (POSITIONS, h),
        f"{prefix}.embeddings.token_type_embeddings.weight": (1, h),
        f"{prefix}.embeddings.LayerNorm.weight": (h,),
        f"{prefix}.embeddings.LayerNorm.bias": (h,),
    }
    for i in range(spec["layers"]):
        layer = f"{prefix}.encoder.layer.{i}"
        for part in (
            "attention.self.query",
            "attention.self.key",
            "attention.self.value",
            "attention.output.dense",
        ):
            shapes[f"{layer}.{part}.weight"] = (h, h)
            shapes[f"{layer}.{part}.bias"] = (h,)
        shapes[f"{layer}.attention.output.LayerNorm.weight"] = (h,)
        shapes[f"{layer}.attention.output.LayerNorm.bias"] = (h,)
        shapes[f"{layer}.intermediate.dense.weight"] = (inter, h)
        shapes[f"{layer}.intermediate.dense.bias"] = (inter,)
        shapes[f"{layer}.output.dense.weight"] = (h, inter)
        shapes[f"{layer}.output.dense.bias"] = (h,)
        shapes[f"{layer}.output.LayerNorm.weight"] = (h,)
        shapes[f"{layer}.output.LayerNorm.bias"] = (h,)
    if spec.get("pooler"):
        shapes[f"{prefix}.pooler.dense.weight"] = (h, h)
        shapes[f"{prefix}.pooler.dense.bias"] = (h,)
    shapes.update(_head_shapes(spec.get("head"), h, vocab, spec.get("labels", 2)))
    generator = torch.Generator().manual_seed(spec["seed"])
    tensors = {name: torch.randn(shape, generator=generator) for name, shape in shapes.items()}
    if spec.get("position_ids"):
        tensors[f"{prefix}.embeddings.position_ids"] = torch.arange(POSITIONS).unsqueeze(0)
    return tensors


def _head_shapes(head: str | None, h: int, vocab: int, labels: int) -> dict:
    if head == "lm":
        return {
            "lm_head.dense.weight": (h, h),
            "lm_head.dense.bias": (h,),
            "lm_head.layer_norm.weight": (h,),
            "lm_head.layer_norm.bias": (h,),
            "lm_head.bias": (vocab,),
        }
    if head == "classifier":
        return {
            "classifier.dense.weight": (h, h),
            "classifier.dense.bias": (h,),
            "classifier.out_proj.weight": (labels, h),
            "classifier.out_proj.bias": (labels,),
        }
    if head == "qa":
        return {"qa_outputs.weight": (2, h), "qa_outputs.bias": (2,)}
    return {}


@cache
def _weight_bytes(filename: str, spec_json: str) -> bytes:
    """Cached by spec, so two repos with the same spec serve byte-identical files (duplicates)."""
    import torch
    from safetensors.torch import save

    tensors = tiny_state_dict(json.loads(spec_json))
    if filename.endswith(".safetensors"):
        return save(tensors)
    buffer = io.BytesIO()
    torch.save(tensors, buffer)
    return buffer.getvalue()


def weight_bytes(filename: str, spec: dict) -> bytes:
    return _weight_bytes(filename, json.dumps(spec, sort_keys=True))


def safetensors_count(content: bytes) -> int:
    return sum(safetensors_parameters(content).values())


def safetensors_parameters(content: bytes) -> dict:
    """{dtype: elements} of a safetensors file, as the Hub's `safetensors.parameters` shows it
    ({"F32": ..., "I64": ...}): the Hub counts integer buffers too."""
    header = json.loads(content[8 : 8 + int.from_bytes(content[:8], "little")])
    counts = {}
    for name, tensor in header.items():
        if name != "__metadata__":
            numel = 1
            for dim in tensor["shape"]:
                numel *= dim
            counts[tensor["dtype"]] = counts.get(tensor["dtype"], 0) + numel
    return counts


def git_blob_id(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def is_lfs(filename: str) -> bool:
    return filename.endswith(LFS_SUFFIXES)


def placeholder(repo_id: str, filename: str) -> bytes:
    if filename.endswith(".json"):
        return json.dumps({"placeholder": f"{repo_id}/{filename}"}).encode()
    return f"placeholder for {repo_id}/{filename}\n".encode()


def load_repos(fixtures_dir=FIXTURES) -> dict:
    """{repo id: {"info": model info document, "files": {name: bytes}}}."""
    fixtures_dir = Path(fixtures_dir)
    infos = json.loads((fixtures_dir / "api_models.json").read_text())
    configs = json.loads((fixtures_dir / "config_files.json").read_text())
    weights = json.loads((fixtures_dir / "weights.json").read_text())
    repos = {}
    for info in infos:
        repo_id = info["id"]
        files = {}
        for sibling in info["siblings"]:
            name = sibling["rfilename"]
            if name == "config.json":
                files[name] = (json.dumps(configs[repo_id], indent=2) + "\n").encode()
            elif name in weights.get(repo_id, {}):
                files[name] = weight_bytes(name, weights[repo_id][name])
            else:
                files[name] = placeholder(repo_id, name)
        repos[repo_id] = {"info": _with_content_fields(info, files), "files": files}
    return repos


def _with_content_fields(info: dict, files: dict) -> dict:
    info = copy.deepcopy(info)
    for sibling in info["siblings"]:
        content = files[sibling["rfilename"]]
        sibling.update(blobId=git_blob_id(content), size=len(content))
        sibling.pop("lfs", None)
        if is_lfs(sibling["rfilename"]):
            lfs = {"sha256": hashlib.sha256(content).hexdigest(), "size": len(content)}
            sibling["lfs"] = {**lfs, "pointerSize": 134}
    info.pop("safetensors", None)
    try:
        total = safetensors_count(files["model.safetensors"])
        parameters = safetensors_parameters(files["model.safetensors"])
        info["safetensors"] = {"parameters": parameters, "total": total}
    except Exception:  # noqa: BLE001 - absent or hostile: the Hub indexes no parameters then
        pass
    info["usedStorage"] = sum(len(c) for c in files.values())
    return info


# --- the server ------------------------------------------------------------------------------


class FakeHub:
    """Hub and CDN listeners on free ports of 127.0.0.1. Use as a context manager."""

    def __init__(self, fixtures_dir=FIXTURES, page_size: int = 4):
        self.repos = load_repos(fixtures_dir)
        self.renamed = json.loads((Path(fixtures_dir) / "renamed_repos.json").read_text())
        # Datasets by id: {"files": [names], "branches": {"main": sha, ...}} (dev/pin_datasets.py).
        self.datasets = {}
        self.page_size = page_size
        self.authorized_tokens: set = set()  # tokens whose user accepted the gated repos' terms
        self.pull_requests: dict = {}  # repo id -> [discussion document + "files"]
        self.requests: list = []  # every request: role, method, path, query, authorization
        self._lock = threading.Lock()
        self._servers: list = []
        self.endpoint = self.cdn = ""

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self) -> None:
        hub, cdn = self._listen("hub"), self._listen("cdn")
        self.endpoint = f"http://127.0.0.1:{hub.server_address[1]}"
        self.cdn = f"http://127.0.0.1:{cdn.server_address[1]}"

    def stop(self) -> None:
        """Close both ports: the network is gone (connection refused)."""
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers = []

    def _listen(self, role: str) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.hub, server.role = self, role
        # A short poll keeps stop() (which waits for the serving loop to notice) quick.
        serve = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
        serve.daemon = True
        serve.start()
        self._servers.append(server)
        return server

    def add_repo(self, repo_id: str, files: dict, tags=(), downloads: int = 100, **info) -> None:
        """A repository built by a test (hostile files included): files {name: bytes}; the info
        document is derived from them as for the fixtures. `config` in info is what the
        listing's config field shows (the Hub derives it from config.json)."""
        document = {
            "_id": hashlib.sha1(repo_id.encode()).hexdigest()[:24],
            "id": repo_id,
            "modelId": repo_id,
            "sha": hashlib.sha1(b"commit " + repo_id.encode()).hexdigest(),
            "lastModified": "2024-01-01T00:00:00.000Z",
            "private": False,
            "gated": False,
            "disabled": False,
            "downloads": downloads,
            "likes": 0,
            "tags": list(tags),
            "siblings": [{"rfilename": name} for name in files],
            **info,
        }
        self.repos[repo_id] = {"info": _with_content_fields(document, files), "files": files}

    def set_file(self, repo_id: str, name: str, content: bytes) -> None:
        """Replace (or add) one file of a repository; its info follows."""
        repo = self.repos[repo_id]
        repo["files"][name] = content
        if name not in [s["rfilename"] for s in repo["info"]["siblings"]]:
            repo["info"]["siblings"].append({"rfilename": name})
        repo["info"] = _with_content_fields(repo["info"], repo["files"])

    def add_conversion(self, repo_id: str, author: str = "SFconvertbot") -> str:
        """A safetensors conversion of a pickle-only repository, as the Hub's conversion bot
        opens it: a pull request (refs/pr/N) whose commit adds model.safetensors, converted
        from pytorch_model.bin, to main's files. Returns the ref."""
        import torch
        from safetensors.torch import save

        repo = self.repos[repo_id]
        state = torch.load(io.BytesIO(repo["files"]["pytorch_model.bin"]), weights_only=True)
        files = {**repo["files"], "model.safetensors": save({k: v.contiguous() for k, v in
                                                             state.items()})}  # fmt: skip
        prs = self.pull_requests.setdefault(repo_id, [])
        num = len(prs) + 1
        ref = f"refs/pr/{num}"
        document = {**repo["info"], "sha": hashlib.sha1(f"{repo_id} {ref}".encode()).hexdigest(),
                    "siblings": [{"rfilename": name} for name in files]}  # fmt: skip
        info = _with_content_fields(document, files)
        revisions = repo.setdefault("revisions", {})
        revisions[ref] = revisions[info["sha"]] = {"info": info, "files": files}
        prs.append({
            "num": num, "title": "Adding `safetensors` variant of this model", "status": "open",
            "isPullRequest": True, "createdAt": "2024-01-01T00:00:00.000Z",
            "author": {"name": author}, "repo": {"name": repo_id, "type": "model"},
            "numComments": 1, "pinned": False, "files": {},
        })  # fmt: skip
        return ref

    def log(self, **request) -> None:
        with self._lock:
            self.requests.append(request)

    def paths(self, role: str = "hub", method: str | None = None) -> list:
        return [
            r["path"]
            for r in self.requests
            if r["role"] == role and (method is None or r["method"] == method)
        ]

    def blob(self, sha256: str) -> bytes | None:
        for repo in self.repos.values():
            for state in [repo, *repo.get("revisions", {}).values()]:
                for sibling in state["info"]["siblings"]:
                    if sibling.get("lfs", {}).get("sha256") == sha256:
                        return state["files"][sibling["rfilename"]]
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - keep test output quiet
        pass

    def do_GET(self):
        self._dispatch(head=False)

    def do_HEAD(self):
        self._dispatch(head=True)

    def do_POST(self):
        self.body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._dispatch(head=False)

    # -- plumbing --

    @property
    def hub(self) -> FakeHub:
        return self.server.hub

    def _dispatch(self, head: bool) -> None:
        self.head = head
        url = urlsplit(self.path)
        self.url_path, self.query = unquote(url.path), parse_qs(url.query)
        self.token = (self.headers.get("Authorization") or "").removeprefix("Bearer ") or None
        self.hub.log(
            role=self.server.role,
            method=self.command,
            path=self.url_path,
            query=self.query,
            authorization=self.headers.get("Authorization"),
        )
        if self.server.role == "cdn":
            return self._cdn()
        if self.command == "POST":
            return self._post()
        if self.url_path == "/api/models":
            return self._list_models()
        if self.url_path.startswith("/api/models/"):
            return self._repo_api(self.url_path.removeprefix("/api/models/").split("/"))
        if self.url_path.startswith("/api/datasets/"):
            return self._dataset_api(self.url_path.removeprefix("/api/datasets/").split("/"))
        return self._resolve(self.url_path.strip("/").split("/"))

    def _send(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, str(value))
        self.send_header("Content-Length", str(len(body)))
        # One request per connection: after stop() no pooled connection can still be answered.
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if not self.head:
            self.wfile.write(body)

    def _json(self, data, status: int = 200, headers: dict | None = None) -> None:
        headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        self._send(status, json.dumps(data).encode(), headers)

    def _error(self, status: int, code: str | None, message: str, headers: dict | None = None):
        extra = {"X-Error-Message": message, **(headers or {})}
        if code:
            extra["X-Error-Code"] = code
        self._json({"error": message}, status, extra)

    def _send_content(self, content: bytes, headers: dict) -> None:
        """200, or 206 for a Range request (how safetensors headers are read)."""
        headers = {"Accept-Ranges": "bytes", "Content-Type": "application/octet-stream", **headers}
        wanted = self.headers.get("Range")
        if not wanted:
            return self._send(200, content, headers)
        first, _, last = wanted.removeprefix("bytes=").partition("-")
        first, last = int(first), min(int(last or len(content) - 1), len(content) - 1)
        if first >= len(content):
            return self._send(416, b"", {"Content-Range": f"bytes */{len(content)}"})
        headers["Content-Range"] = f"bytes {first}-{last}/{len(content)}"
        self._send(206, content[first : last + 1], headers)

    # -- repos, access and revisions --

    def _locate(self, parts: list) -> tuple:
        """(repo id, repo or None, remaining parts); ids are 'org/name' or, legacy, 'name'."""
        if len(parts) >= 2 and "/".join(parts[:2]) in self.hub.repos:
            repo_id = "/".join(parts[:2])
            return repo_id, self.hub.repos[repo_id], parts[2:]
        if parts[0] in self.hub.renamed:
            return parts[0], None, parts[1:]
        return "/".join(parts[:2]), None, parts[2:]

    def _redirect_renamed(self, old_id: str) -> bool:
        if old_id not in self.hub.renamed:
            return False
        url = urlsplit(self.path)
        segments = url.path.split("/")
        segments[segments.index(old_id)] = self.hub.renamed[old_id]
        location = "/".join(segments) + (f"?{url.query}" if url.query else "")
        self._send(307, b"", {"Location": location})
        return True

    def _visible(self, repo: dict | None) -> bool:
        return repo is not None and (not repo["info"].get("private") or self.token is not None)

    def _deny(self, repo_id: str, repo: dict | None, files: bool) -> bool:
        """Send the Hub's error when the caller may not see the repo (or its files)."""
        if not self._visible(repo):
            self._error(404 if self.token else 401, "RepoNotFound", "Repository not found")
            return True
        if files and repo["info"].get("disabled"):
            self._error(403, None, "Access to this resource is disabled.")
            return True
        if files and repo["info"].get("gated") and self.token not in self.hub.authorized_tokens:
            if self.token is None:
                message = (
                    f"Access to model {repo_id} is restricted. You must have access to it "
                    "and be authenticated to access it. Please log in."
                )
                self._error(401, "GatedRepo", message)
            else:
                message = (
                    f"Access to model {repo_id} is restricted and you are not in the "
                    f"authorized list. Visit {self.hub.endpoint}/{repo_id} to ask for "
                    "access."
                )
                self._error(403, "GatedRepo", message)
            return True
        return False

    @staticmethod
    def _at(repo: dict, revision: str) -> dict:
        """The repository as a revision holds it: main, its commit, or another ref or commit
        (FakeHub.add_conversion)."""
        return repo.get("revisions", {}).get(revision, repo)

    def _bad_revision(self, repo: dict, revision: str, headers: dict | None = None) -> bool:
        if revision in ("main", repo["info"]["sha"], *repo.get("revisions", {})):
            return False
        self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}", headers)
        return True

    # -- /api/models --

    def _list_models(self) -> None:
        query = self.query
        models = [r["info"] for r in self.hub.repos.values() if self._visible(r)]
        for tag in query.get("filter", []):
            models = [m for m in models if tag in m.get("tags", [])]
        if "search" in query:
            models = [m for m in models if query["search"][0].lower() in m["id"].lower()]
        if "author" in query:
            models = [m for m in models if m["id"].startswith(query["author"][0] + "/")]
        sort = query.get("sort", [None])[0]
        if sort in SORT_KEYS:
            models = sorted(models, key=lambda m: m.get(sort) or 0, reverse=True)
        offset = (
            json.loads(base64.urlsafe_b64decode(query["cursor"][0]))["offset"]
            if "cursor" in query
            else 0
        )
        size = int(query["limit"][0]) if "limit" in query else self.hub.page_size
        page = models[offset : offset + size]
        headers = {}
        if offset + size < len(models):
            cursor = base64.urlsafe_b64encode(json.dumps({"offset": offset + size}).encode())
            next_query = {k: v for k, v in query.items() if k != "cursor"}
            next_query["cursor"] = [cursor.decode()]
            link = f"{self.hub.endpoint}/api/models?{urlencode(next_query, doseq=True)}"
            headers["Link"] = f'<{link}>; rel="next"'
        self._json([self._listing_item(m) for m in page], headers=headers)

    def _listing_item(self, info: dict) -> dict:
        expand = self.query.get("expand") or self.query.get("expand[]")
        if expand:
            fields = expand
        else:
            fields = list(LISTING_FIELDS)
            if self.query.get("full", [""])[0].lower() == "true":
                fields += FULL_FIELDS
            if self.query.get("config", [""])[0].lower() == "true":
                fields.append("config")
            if self.query.get("cardData", [""])[0].lower() == "true":
                fields.append("cardData")
        item = {"_id": info["_id"], "id": info["id"]}
        for field in fields:
            if field == "siblings":
                item["siblings"] = [{"rfilename": s["rfilename"]} for s in info["siblings"]]
            elif field in info:
                item[field] = info[field]
        return item

    def _repo_api(self, parts: list) -> None:
        repo_id, repo, rest = self._locate(parts)
        if repo is None and self._redirect_renamed(repo_id):
            return
        if rest[:1] == ["tree"]:
            return self._tree(repo_id, repo, rest[1] if len(rest) > 1 else "main")
        if rest[:1] == ["discussions"]:
            return self._discussions(repo_id, repo)
        if self._deny(repo_id, repo, files=False):
            return
        revision = "/".join(rest[1:]) if rest[:1] == ["revision"] else "main"
        if self._bad_revision(repo, revision):
            return
        info = copy.deepcopy(self._at(repo, revision)["info"])
        if self.query.get("blobs", [""])[0].lower() != "true":
            info["siblings"] = [{"rfilename": s["rfilename"]} for s in info["siblings"]]
        expand = self.query.get("expand") or self.query.get("expand[]")
        if expand:
            info = {
                "_id": info["_id"],
                "id": info["id"],
                **{f: info[f] for f in expand if f in info},
            }
        self._json(info)

    def _dataset_api(self, parts: list) -> None:
        """GET /api/datasets/{id}[/revision/{rev}]: a dataset's info at a branch (FakeHub.datasets:
        id -> {"files": [...], "branches": {name: sha}}; "main" is the default)."""
        repo_id = "/".join(parts[:2]) if "/".join(parts[:2]) in self.hub.datasets else parts[0]
        rest = parts[2:] if repo_id.count("/") else parts[1:]
        dataset = self.hub.datasets.get(repo_id)
        if dataset is None:
            return self._error(404, "RepoNotFound", "Repository Not Found")
        branch = "/".join(rest[1:]) if rest[:1] == ["revision"] else "main"
        if branch not in dataset["branches"]:
            return self._error(404, "RevisionNotFound", f"Invalid rev id: {branch}")
        siblings = [{"rfilename": name} for name in dataset["files"]]
        self._json({"_id": repo_id, "id": repo_id, "sha": dataset["branches"][branch],
                    "private": False, "disabled": False, "siblings": siblings})  # fmt: skip

    def _tree(self, repo_id: str, repo: dict | None, revision: str) -> None:
        if self._deny(repo_id, repo, files=False) or self._bad_revision(repo, revision):
            return
        recursive = self.query.get("recursive", [""])[0].lower() == "true"
        entries, folders = [], set()
        for sibling in self._at(repo, revision)["info"]["siblings"]:
            name = sibling["rfilename"]
            if "/" in name:
                folders.add(name.split("/")[0])
                if not recursive:
                    continue
            entry = {
                "type": "file",
                "oid": sibling["blobId"],
                "size": sibling["size"],
                "path": name,
            }
            if "lfs" in sibling:
                lfs = sibling["lfs"]
                entry["lfs"] = {"oid": lfs["sha256"], "size": lfs["size"], "pointerSize": 134}
            entries.append(entry)
        tree_oid = "0" * 40  # folder tree ids are not used by the client
        entries += [{"type": "directory", "oid": tree_oid, "size": 0, "path": f} for f in folders]
        self._json(sorted(entries, key=lambda e: e["path"]))

    # -- /{repo}/resolve/{revision}/{file} and the CDN --

    def _resolve(self, parts: list) -> None:
        repo_id, repo, rest = self._locate(parts)
        if repo is None and self._redirect_renamed(repo_id):
            return
        if len(rest) < 3 or rest[0] != "resolve":
            return self._error(404, None, "Not Found")
        if self._deny(repo_id, repo, files=True):
            return
        revision, filename = rest[1], "/".join(rest[2:])
        if self._bad_revision(repo, revision, {"X-Repo-Commit": repo["info"]["sha"]}):
            return
        repo = self._at(repo, revision)
        commit = {"X-Repo-Commit": repo["info"]["sha"]}
        if filename not in repo["files"]:
            return self._error(404, "EntryNotFound", "Entry not found", commit)
        sibling = next(s for s in repo["info"]["siblings"] if s["rfilename"] == filename)
        if "lfs" not in sibling:
            return self._send_content(
                repo["files"][filename], {**commit, "ETag": f'"{sibling["blobId"]}"'}
            )
        sha256, size = sibling["lfs"]["sha256"], sibling["lfs"]["size"]
        location = f"{self.hub.cdn}/cdn/{sha256}"
        headers = {
            **commit,
            "Location": location,
            "ETag": f'"{sha256}"',
            "X-Linked-Etag": f'"{sha256}"',
            "X-Linked-Size": size,
        }
        self._send(302, f"Found. Redirecting to {location}".encode(), headers)

    def _cdn(self) -> None:
        sha256 = self.url_path.removeprefix("/cdn/")
        content = self.hub.blob(sha256)
        if content is None:
            return self._send(404, b"NoSuchKey")
        self._send_content(content, {"ETag": f'"{sha256}"'})

    # -- pull requests: discussions, preupload, commit --

    def _discussions(self, repo_id: str, repo: dict | None) -> None:
        if self._deny(repo_id, repo, files=False):
            return
        kind, status = self.query.get("type", ["all"])[0], self.query.get("status", ["all"])[0]
        author = self.query.get("author", [None])[0]
        found = [
            {k: v for k, v in pr.items() if k != "files"}
            for pr in reversed(self.hub.pull_requests.get(repo_id, []))
            if kind in ("all", "pull_request") and status in ("all", pr["status"])
            and author in (None, pr["author"]["name"])
        ]  # fmt: skip
        start = int(self.query.get("p", ["0"])[0]) * DISCUSSIONS_PAGE
        self._json({
            "discussions": found[start : start + DISCUSSIONS_PAGE],
            "count": len(found),
            "start": start,
            "numClosedDiscussions": sum(d["status"] == "closed" for d in found),
        })  # fmt: skip

    def _post(self) -> None:
        if self.url_path == "/api/validate-yaml":
            return self._json({"errors": [], "warnings": []})
        if not self.url_path.startswith("/api/models/"):
            return self._error(404, None, "Not Found")
        repo_id, repo, rest = self._locate(self.url_path.removeprefix("/api/models/").split("/"))
        if self._deny(repo_id, repo, files=False):
            return None
        if rest[:1] == ["preupload"]:
            files = json.loads(self.body)["files"]
            return self._json({"files": [self._upload_mode(repo, f["path"]) for f in files]})
        if rest[:1] == ["commit"]:
            return self._commit(repo_id, repo)
        return self._error(404, None, "Not Found")

    def _upload_mode(self, repo: dict, path: str) -> dict:
        blob = next((s["blobId"] for s in repo["info"]["siblings"] if s["rfilename"] == path), None)
        mode = "lfs" if is_lfs(path) else "regular"
        return {"path": path, "uploadMode": mode, "shouldIgnore": False, "oid": blob}

    def _commit(self, repo_id: str, repo: dict) -> None:
        if self.token is None:
            return self._error(401, None, "Invalid credentials in Authorization header")
        if self.query.get("create_pr", [""])[0] != "1":
            return self._error(403, None, "You don't have the rights to push to this repo")
        lines = [json.loads(line) for line in self.body.splitlines() if line.strip()]
        header = next(line["value"] for line in lines if line["key"] == "header")
        files = {
            line["value"]["path"]: base64.b64decode(line["value"]["content"])
            for line in lines
            if line["key"] == "file"
        }
        prs = self.hub.pull_requests.setdefault(repo_id, [])
        num = len(prs) + 1
        oid = hashlib.sha1(f"{repo_id} pr {num}".encode()).hexdigest()
        prs.append({
            "num": num, "title": header["summary"], "status": "open", "isPullRequest": True,
            "createdAt": "2026-01-01T00:00:00.000Z", "author": {"name": "token-owner"},
            "repo": {"name": repo_id, "type": "model"}, "numComments": 1, "pinned": False,
            "description": header.get("description", ""), "files": files,
        })  # fmt: skip
        self._json({
            "success": True,
            "commitOid": oid,
            "commitUrl": f"{self.hub.endpoint}/{repo_id}/commit/{oid}",
            "pullRequestUrl": f"{self.hub.endpoint}/{repo_id}/discussions/{num}",
        })  # fmt: skip
