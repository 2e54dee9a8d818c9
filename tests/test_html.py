"""bptt_check.html: report.html, loaded offline by a real browser (Debian's chromium, headless).

One page load (a module fixture) gives both the DOM and a phone-width screenshot.  Under CI the
browser must be there (.ci/run installs it), as pdflatex must be for the PDF report."""

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from bptt_check.evidence import Text
from bptt_check.html import render_html, write_html
from bptt_check.verdicts import ORDER, verify

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def verdicts():
    return verify()  # computed once per process: the report's own verdicts


@pytest.fixture(scope="module")
def page(verdicts, tmp_path_factory):
    """report.html, its DOM as chromium built it with the network cut, and a screenshot at a
    phone's width (390 CSS pixels)."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install chromium (.ci/run does): the web page is tested in it")
        pytest.skip("chromium is not installed here (CI installs it)")
    folder = tmp_path_factory.mktemp("html")
    path = write_html(verdicts, folder, seed=0)
    shot = folder / "phone.png"
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--proxy-server=127.0.0.1:9",  # nothing can be fetched
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--window-size=390,2400",
            f"--screenshot={shot}",
            "--dump-dom",
            path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return SimpleNamespace(path=path, source=path.read_text(), dom=result.stdout, shot=shot)


class Visible(HTMLParser):
    """The text a reader sees (not styles, not the SVG's own metadata), and every section id
    and link target."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.sections: list[str] = []
        self.links: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("style", "script", "svg", "title"):
            self.hidden += 1
        if tag == "section" and attrs.get("id") != "summary":
            self.sections.append(attrs.get("id"))
        if tag == "a":
            self.links.append(attrs.get("href"))

    def handle_endtag(self, tag):
        if tag in ("style", "script", "svg", "title"):
            self.hidden -= 1

    def handle_data(self, data):
        if not self.hidden:
            self.text.append(data)


def visible(dom: str) -> Visible:
    parser = Visible()
    parser.feed(dom)
    return parser


def test_one_section_per_claim_with_the_claim_id(page, verdicts):
    seen = visible(page.dom)
    assert seen.sections == [v.id for v in verdicts] == list(ORDER)
    # the summary links to every section, and every in-page link lands on an element
    assert [f"#{i}" for i in ORDER] == [link for link in seen.links if link[1:] in ORDER][:18]
    ids = set(re.findall(r'\bid="([^"]+)"', page.dom))
    assert {link[1:] for link in seen.links if link.startswith("#")} <= ids


def test_no_latex_and_no_python_literals_reach_the_reader(page):
    text = " ".join(visible(page.dom).text)
    assert "Equation (14): LSTM cell path" in text and "holds-if" in text
    assert "\\" not in text and "$" not in text  # math became MathML
    assert not re.search(r"\{'|\bNone\b|\(-?[0-9.]+, |\[\[|\w\[\w+, ", text)
    assert page.dom.count("<math") > 500  # the equations, symbols and numbers as MathML


def test_the_page_is_self_contained(page):
    source = page.source
    assert "<script" not in source and "<link" not in source and "@import" not in source
    # nothing beside it or remote: in-page links, the colour bars' pixels as data URIs, and
    # one link a reader may follow (never loaded): the article's own page
    assert not re.search(r"""src=["'](?!data:image/png;base64,)""", source)
    links = re.findall(r"""href=["']([^"']*)""", source)
    assert {link for link in links if not link.startswith(("#", "data:image/png;base64,"))} == {
        "http://www.chinasem.cn/article/881668"
    }
    assert not re.search(r"url\((?!#)", source)
    assert source.count("<svg") >= 4  # the maps of the evidence, inline
    assert '<meta name="viewport"' in source  # a phone gets its own width


def test_the_browser_draws_the_page(page):
    import matplotlib.image

    pixels = matplotlib.image.imread(page.shot)[..., :3]
    assert pixels.shape[1] == 390
    ink = (pixels.min(axis=-1) < 0.9).mean()
    assert ink > 0.02, f"only {ink:.1%} of the screenshot is not white"
    colour = np.ptp(pixels, axis=-1) > 0.2  # the verdicts' coloured badges and links
    assert colour.mean() > 1e-4


def test_same_verdicts_same_bytes(verdicts, page):
    assert render_html(verdicts, seed=0) == page.source


def test_a_claim_quotes_the_article_in_chinese(verdicts, monkeypatch):
    from bptt_check import registry

    claim = SimpleNamespace(
        title=Text("Claim: the many multiplications are training", "Claim: the many …"),
        quote="经过多次连乘(训练)",
        translation=Text("after many multiplications (training)", r"after many $\times$"),
    )
    monkeypatch.setattr(registry, "get", lambda identifier: claim)
    page = render_html([v for v in verdicts if v.id == "product-is-training"], seed=0)
    assert '<blockquote lang="zh-Hans">经过多次连乘(训练)</blockquote>' in page
    assert "after many <math" in page


def test_every_claim_quotes_its_registry_sentences_as_text(page):
    """The article's sentences of each claim, as the registry holds them (a tuple of
    sentences), appear in its section as text, never as a Python tuple; the page names the
    article and links to it."""
    import html

    from bptt_check import registry

    for claim in registry.CLAIMS:
        quoted = html.escape(" ".join(claim.quote))
        assert f'<blockquote lang="zh-Hans">{quoted}</blockquote>' in page.source, claim.id
    assert 'href="http://www.chinasem.cn/article/881668"' in page.source


def test_write_html_refuses_a_folder_that_is_not_there(verdicts, tmp_path):
    from bptt_check.output import OutputError

    with pytest.raises(OutputError, match="No such file or directory"):
        write_html(verdicts[:1], tmp_path / "missing", seed=0)
    assert list(tmp_path.iterdir()) == []


def test_the_page_needs_no_file_beside_it(page):
    assert sorted(p.name for p in Path(page.path).parent.iterdir()) == ["phone.png", "report.html"]
