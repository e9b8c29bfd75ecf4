"""Model id <-> folder name mapping that is path-safe and injective.

Every character outside [A-Za-z0-9_-] and '.' becomes '~' followed by two hex digits (UTF-8 bytes),
so '~' itself is escaped and decoding is unique. A leading '.' is escaped too, so no name is '.' or
'..' or hidden: a model id can never escape its results folder.
"""

import re

_KEEP = re.compile(r"[A-Za-z0-9_\-]")
SAFE_NAME_PATTERN = r"[A-Za-z0-9_.~\-]+"


def safe_name(model_id: str) -> str:
    if not model_id:
        raise ValueError("empty model id")
    out = []
    for i, char in enumerate(model_id):
        if _KEEP.fullmatch(char) or (char == "." and i > 0):
            out.append(char)
        else:
            out.extend(f"~{byte:02x}" for byte in char.encode("utf-8"))
    return "".join(out)


def model_id_from_safe_name(name: str) -> str:
    raw = bytearray()
    i = 0
    while i < len(name):
        if name[i] == "~":
            raw.append(int(name[i + 1 : i + 3], 16))
            i += 3
        else:
            raw.extend(name[i].encode("ascii"))
            i += 1
    return raw.decode("utf-8")
