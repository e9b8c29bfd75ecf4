"""Text from models and config, made safe to put on a page.

Model ids, local folder names and configured strings are chosen by whoever publishes a model or
writes a config. Put raw on a Jekyll page, `|` breaks a markdown table, `[...]` a link,
`<script>` runs in the reader's browser and `{{ ... }}` / `{% ... %}` run as Liquid when the site
is built. `text` turns every such character into an HTML character reference, which Liquid and
markdown leave alone and the browser shows as the character itself; `Markup` marks page markup
built from escaped parts, which tables and pages then use as it is.
"""

from __future__ import annotations

import json

# HTML (&<>"'), markdown tables (|), links and emphasis ([]*`\), Liquid ({}), math ($).
_REFERENCES = str.maketrans({char: f"&#{ord(char)};" for char in "&<>\"'|[]*`\\{}$"})
_LINE_BREAKS = str.maketrans({"\r": " ", "\n": " "})  # a line break would end a table row


class Markup(str):
    """Page markup whose text parts are escaped already: put on a page as it is."""


def text(value) -> Markup:
    """Any value as page text: shown as it is, interpreted by nothing."""
    if isinstance(value, Markup):
        return value
    return Markup(str(value).translate(_LINE_BREAKS).translate(_REFERENCES))


def link(label, target: str) -> Markup:
    """A markdown link; targets are our own page paths, built from path-safe names."""
    return Markup(f"[{text(label)}]({target})")


def code(value) -> Markup:
    """Monospace text: <code>, because a markdown code span shows references literally (and
    Liquid still runs inside it)."""
    return Markup(f"<code>{text(value)}</code>")


def front_matter_value(value) -> str:
    """A YAML value for front matter: JSON-quoted (model ids may contain ':' or '#') and escaped,
    since themes put titles into navigation HTML unescaped."""
    return json.dumps(text(value))
