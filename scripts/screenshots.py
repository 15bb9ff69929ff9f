"""Screenshots of every console page into docs/screenshots/ (small PNGs for the docs).

    python scripts/screenshots.py [--workspace DIR] [--out docs/screenshots] [--width 1280]

Without ``--workspace`` a shop is simulated in a temporary folder (``--users``, ``--days``).
The pages are found by following the header and sub-navigation links an admin sees (so pages
added later are included), plus the sign-in page and a few views reached through forms (one
customer, item, campaign analysis: ``<page>-detail.png``). Headless Chromium
(/usr/bin/chromium), every non-loopback request aborted; each PNG quantised to 256 colours
to stay small (~150 KB).
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).parent))

from console_server import extra_pages, simulate, start

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def name_of(path: str) -> str:
    """'/' -> overview, '/explore/retention' -> explore-retention."""
    clean = path.split("?")[0].strip("/")
    return clean.replace("/", "-") or "overview"


def shrink(png: bytes) -> bytes:
    """256-colour palette PNG, optimised (Pillow); unchanged when Pillow is missing."""
    try:
        from PIL import Image
    except ImportError:
        return png
    image = Image.open(io.BytesIO(png)).convert("RGB")
    quantised = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=0)
    out = io.BytesIO()
    quantised.save(out, format="PNG", optimize=True)
    return out.getvalue()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workspace", type=Path)
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=800)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args(argv)
    from playwright.sync_api import Route, sync_playwright

    with tempfile.TemporaryDirectory(prefix="shopmind-shots-") as tmp:
        ws = args.workspace or Path(tmp) / "ws"
        simulate(ws, args.users, args.days)
        extra = extra_pages(ws)
        server = start(ws, Path(tmp) / "server.log")
        outside: list[str] = []

        def block(route: Route) -> None:
            url = route.request.url
            host = urlsplit(url).hostname or ""
            if url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
                route.continue_()
            else:
                outside.append(url)
                route.abort()

        args.out.mkdir(parents=True, exist_ok=True)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
                context = browser.new_context(viewport={"width": args.width, "height": args.height})
                context.set_default_timeout(120_000)
                page = context.new_page()
                page.route("**/*", block)
                page.goto(f"{server.base}/login")
                shots = {"login": page.screenshot()}
                page.fill("#f-key", server.keys["admin"])
                page.click("form[action='/login'] button[type=submit]")
                page.wait_for_load_state()
                found = ["/"]
                for selector in ("header nav a", ".sub a"):
                    for path in list(found):
                        page.goto(f"{server.base}{path}")
                        hrefs = page.eval_on_selector_all(
                            selector, "els => els.map(e => e.getAttribute('href'))"
                        )
                        found += [h for h in hrefs if h and h.startswith("/") and h not in found]
                named = {name_of(p): p for p in found}
                for path in extra:  # a view reached through a form: "<page>-detail"
                    named.setdefault(name_of(path) + "-detail", path)
                for name, path in named.items():
                    page.goto(f"{server.base}{path}")
                    for chart in page.query_selector_all(".chart[data-figure]"):
                        chart.wait_for_element_state("visible")
                    page.wait_for_function(
                        "() => [...document.querySelectorAll('.chart[data-figure]')]"
                        ".every(c => c.dataset.drawn === '1')"
                    )
                    shots[name] = page.screenshot()
                page.goto(f"{server.base}/?lang=zh")  # the Chinese interface (OS CJK font)
                page.wait_for_selector(".chart[data-drawn='1']")
                shots["overview-zh"] = page.screenshot()
                page.goto(f"{server.base}/?lang=en")
                browser.close()
        finally:
            server.stop()
        for name, png in shots.items():
            small = shrink(png)
            (args.out / f"{name}.png").write_bytes(small)
            print(f"{args.out / (name + '.png')}: {len(small) / 1024:.0f} KB")
        if outside:
            print(f"requests left the machine: {outside}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
