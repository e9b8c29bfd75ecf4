"""The markdown site as HTML that opens from disk (model_recycling/pages/html.py)."""

from model_recycling.pages.html import html_href, render_html_site

LONG_ID = "org/a-very-long-model-name-that-goes-on-and-on-forever"
PAGES = {
    "index.md": '---\nlayout: default\ntitle: "Home"\nnav_order: 0\n---\n# Home\n\n'
    "| model | avg |\n|:---|---:|\n"
    f"| [{LONG_ID}](model_gain_chart/a/x.md) | 1.00 |\n\n"
    "[FAQ](faq.md#why), [paper](https://arxiv.org/abs/2211.00107), [csv](data/a/r.csv).\n",
    "Rankings.md": '---\nlayout: default\ntitle: "Rankings"\nnav_order: 1\n'
    "has_children: true\n---\n# Rankings\n\n| # | model |\n|---:|:---|\n| 1 | m |\n",
    "a_table.md": '---\nlayout: default\ntitle: "a"\nparent: "Rankings"\nnav_order: 1\n---\n# a\n',
    "model_gain_chart/a/x.md": '---\nlayout: default\ntitle: "x&#124;&#60;b&#62;"\n'
    "nav_order: 100\nnav_exclude: true\n---\n# x&#124;&#60;b&#62;\n\n![chart](x.png) "
    "[home](../../index.md)\n",
}


def make_site(root):
    for name, page in PAGES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(page)
    (root / "model_gain_chart/a/x.png").write_bytes(b"\x89PNG fake")
    (root / "_config.yml").write_text("remote_theme: just-the-docs/just-the-docs\n")
    return root


def test_links_point_at_html_and_everything_else_stays():
    assert html_href("faq.md") == "faq.html"
    assert html_href("../../index.md#top") == "../../index.html#top"
    assert html_href("data/a/ranking.csv") == "data/a/ranking.csv"
    assert html_href("https://example.org/x.md") == "https://example.org/x.md"


def test_pages_render_with_navigation_short_names_and_no_front_matter(tmp_path):
    site = make_site(tmp_path / "site")
    render_html_site(site, tmp_path / "html")
    html = tmp_path / "html"
    assert sorted(p.relative_to(html).as_posix() for p in html.rglob("*") if p.is_file()) == [
        "Rankings.html", "a_table.html", "index.html", "model_gain_chart/a/x.html",
        "model_gain_chart/a/x.png", "style.css",
    ]  # fmt: skip
    index = (html / "index.html").read_text()
    assert '<a href="model_gain_chart/a/x.html"><span title="' + LONG_ID + '">' in index
    assert "org/a-very-long-model-nam…and-on-forever</span>" in index
    assert '<a href="faq.html#why">' in index and 'href="data/a/r.csv"' in index
    assert '<div class="table-wrap"><table>' in index
    # a ranking (first column "#") keeps its name column in view too
    assert '<div class="table-wrap"><table class="ranked">' in (html / "Rankings.html").read_text()
    # the navigation nests a under Rankings; a nav_exclude page is not in it
    assert '<a href="Rankings.html">Rankings</a><ul><li><a href="a_table.html">a</a>' in index
    assert "model_gain_chart" not in index.split("<main>")[0]
    gain = (html / "model_gain_chart/a/x.html").read_text()
    assert '<link rel="stylesheet" href="../../style.css">' in gain
    assert '<img src="x.png"' in gain and '<a href="../../index.html">home</a>' in gain
    assert "<title>x&#124;&#60;b&#62; - Model recycling</title>" in gain
    assert "<h1>x|&lt;b&gt;</h1>" in gain
    for page in html.rglob("*.html"):
        assert "layout:" not in page.read_text() and "---" not in page.read_text()


def test_same_site_same_bytes(tmp_path):
    site = make_site(tmp_path / "site")
    render_html_site(site, tmp_path / "one")
    render_html_site(site, tmp_path / "two")
    for page in (tmp_path / "one").rglob("*"):
        if page.is_file():
            assert (
                page.read_bytes()
                == (tmp_path / "two" / page.relative_to(tmp_path / "one")).read_bytes()
            )
