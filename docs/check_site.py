"""Check the built documentation site in a real browser.

Serves ``docs/_build/html`` with ``python -m http.server`` on a free port of
127.0.0.1 and opens every page in headless Chromium (Debian's package, driven
by Playwright) with no network beyond that server. A page fails on:

- a console error or an uncaught page error;
- a request that fails, answers 400 or more, or leaves the local server
  (such requests are blocked and reported: the site must work offline);
- an image that does not load (``naturalWidth == 0``);
- an internal link to a file that is not in the build, or to a ``#fragment``
  that is not an ``id`` of the page it points to;
- a cross-reference of the Markdown pages that Sphinx left as plain text;
- formulas that MathJax did not typeset, a gallery example without a figure.

Then the search page is asked for ``MixtureSameFamily`` and must list
``api/MixtureSameFamily.html``. Exit status 0 when all is well, 1 otherwise.

Usage::

    python docs/check_site.py [--html docs/_build/html] [--chromium /usr/bin/chromium]
                              [--screenshots DIR] [--jobs N]
"""

from __future__ import annotations

import argparse
import asyncio
import html.parser
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# pages whose screenshots are taken with --screenshots (name -> path in the site)
SHOTS = {
    "front": "index.html",
    "MixtureSameFamily": "api/MixtureSameFamily.html",
    "gallery_mixture_2d": "auto_examples/plot_mixture_2d.html",
    "gallery_index": "auto_examples/index.html",
    "reference_MixtureSameFamily": "reference/mixstat.distributions.MixtureSameFamily.html",
}


class _Ids(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("id", "name") and v:
                self.ids.add(v)


def _pages(root):
    out = []
    for d, dirs, files in os.walk(root):
        rel = os.path.relpath(d, root)
        if rel.split(os.sep)[0] in ("_static", "_sources", "_downloads", "_images"):
            dirs[:] = []
            continue
        out += [os.path.normpath(os.path.join(rel, f)).replace(os.sep, "/") for f in files if f.endswith(".html")]
    return sorted(out)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(root):
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", root],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "index.html", timeout=1).close()
            return proc, base
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("python -m http.server did not start") from None
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("python -m http.server did not answer within 10 s")


class Checker:
    def __init__(self, root, base):
        self.root = root
        self.base = base
        self.problems: list[str] = []
        self._ids: dict[str, set[str]] = {}

    def ids_of(self, rel):
        if rel not in self._ids:
            p = _Ids()
            with open(os.path.join(self.root, rel), encoding="utf-8", errors="replace") as f:
                p.feed(f.read())
            self._ids[rel] = p.ids
        return self._ids[rel]

    def check_link(self, page, href):
        """An internal link: its file exists and, for an HTML page, its #fragment is an id there."""
        url = urllib.parse.urlsplit(href)
        if url.scheme not in ("http", "https") or not href.startswith(self.base):
            return
        rel = urllib.parse.unquote(url.path[len(urllib.parse.urlsplit(self.base).path) :])
        if rel == "" or rel.endswith("/"):
            rel += "index.html"
        path = os.path.join(self.root, rel)
        if not os.path.isfile(path):
            self.problems.append(f"{page}: broken link {href} (no file {rel})")
            return
        frag = urllib.parse.unquote(url.fragment)
        if frag and rel.endswith(".html") and frag not in self.ids_of(rel):
            self.problems.append(f"{page}: broken link {href} (no id '{frag}' in {rel})")

    async def check_page(self, context, rel):
        page = await context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url} ({r.failure})"))
        page.on("response", lambda r: errors.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
        try:
            await page.goto(self.base + rel, wait_until="load", timeout=60_000)
            # images: lazy ones are made eager, then every image has loaded or failed
            broken = await page.evaluate("""async () => {
                const imgs = Array.from(document.images);
                imgs.forEach(i => { i.loading = 'eager'; });
                await Promise.all(imgs.map(i => i.complete ? null : new Promise(r => {
                    i.addEventListener('load', r); i.addEventListener('error', r); })));
                return imgs.filter(i => i.naturalWidth === 0).map(i => i.currentSrc || i.src);
            }""")
            for src in broken:
                errors.append(f"broken image {src}")
            # MathJax typesets after load; wait for it so that its errors are seen
            await page.evaluate("""async () => {
                if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
                    await MathJax.startup.promise;
                }
            }""")
            typeset = await page.evaluate("""() => [document.querySelectorAll('.math').length,
                document.querySelectorAll('mjx-container').length]""")
            if typeset[0] and not typeset[1]:
                errors.append(f"{typeset[0]} formulas, none typeset by MathJax")
            if rel.startswith("auto_examples/plot_"):
                figs = await page.locator("img.sphx-glr-single-img, img.sphx-glr-multi-img").count()
                if not figs:
                    errors.append("gallery example without a figure")
            # a cross-reference Sphinx could not resolve is rendered as text, not as a link
            dead = await page.evaluate("""() => Array.from(document.querySelectorAll(
                'span.std-doc, span.std-ref, span.xref.myst, span.xref.download'))
                .filter(e => !e.closest('a')).map(e => e.textContent.trim().slice(0, 60))""")
            for text in dead:
                errors.append(f"unresolved cross-reference (text, not a link): {text!r}")
            hrefs = await page.eval_on_selector_all("a[href]", "as => as.map(a => a.href)")
            for href in hrefs:
                self.check_link(rel, href)
            await page.wait_for_timeout(50)
        except Exception as exc:  # any failure to open the page is a problem of the page
            errors.append(f"could not be opened: {type(exc).__name__}: {exc}")
        finally:
            await page.close()
        self.problems += [f"{rel}: {e}" for e in errors]

    async def check_search(self, context, term="MixtureSameFamily", want="api/MixtureSameFamily.html"):
        page = await context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        try:
            await page.goto(self.base + "search.html?q=" + urllib.parse.quote(term), wait_until="load")
            await page.wait_for_selector("#search-results a[href]", timeout=30_000)
            # the results arrive in batches: wait until the list stops growing
            n, same = -1, 0
            while same < 3:
                m = await page.locator("#search-results a[href]").count()
                same = same + 1 if m == n else 0
                n = m
                await page.wait_for_timeout(200)
            hrefs = await page.eval_on_selector_all("#search-results a[href]", "as => as.map(a => a.href)")
            if not any(urllib.parse.urlsplit(h).path.endswith("/" + want) for h in hrefs):
                errors.append(f"search for {term!r}: {want} not among the {len(hrefs)} results")
            else:
                print(f"search for {term!r}: {len(hrefs)} results, {want} among them")
        except Exception as exc:
            errors.append(f"search for {term!r} failed: {type(exc).__name__}: {exc}")
        finally:
            await page.close()
        self.problems += [f"search.html: {e}" for e in errors]


async def _main(args):
    from playwright.async_api import async_playwright

    root = os.path.abspath(args.html)
    if not os.path.isfile(os.path.join(root, "index.html")):
        print(f"no site at {root}: run `make docs` first", file=sys.stderr)
        return 1
    pages = _pages(root)
    server, base = _serve(root)
    t0 = time.perf_counter()
    try:
        checker = Checker(root, base)
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            context = await browser.new_context(viewport={"width": 1280, "height": 900})

            async def route(r):  # offline: only the local server is reachable
                if r.request.url.startswith(base) or r.request.url.startswith(("data:", "blob:")):
                    await r.continue_()
                else:
                    checker.problems.append(f"request to outside the site: {r.request.url}")
                    await r.abort()

            await context.route("**/*", route)
            queue = list(pages)

            async def worker():
                while queue:
                    await checker.check_page(context, queue.pop(0))

            await asyncio.gather(*[worker() for _ in range(max(1, args.jobs))])
            await checker.check_search(context)
            if args.screenshots:
                os.makedirs(args.screenshots, exist_ok=True)
                page = await context.new_page()
                for name, rel in SHOTS.items():
                    if not os.path.isfile(os.path.join(root, rel)):
                        checker.problems.append(f"screenshot: no page {rel}")
                        continue
                    await page.goto(base + rel, wait_until="load")
                    await page.evaluate(
                        "async () => { if (window.MathJax && MathJax.startup) await MathJax.startup.promise; }"
                    )
                    await page.screenshot(path=os.path.join(args.screenshots, name + ".png"), full_page=args.full)
                await page.close()
            await browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    dt = time.perf_counter() - t0
    for p in checker.problems:
        print("FAIL", p)
    print(f"{len(pages)} pages checked in {dt:.1f} s: {len(checker.problems)} problem(s)")
    return 1 if checker.problems else 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--html", default=os.path.join(HERE, "_build", "html"), help="the built site")
    ap.add_argument(
        "--chromium",
        default=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
        help="the Chromium executable (Debian's package)",
    )
    ap.add_argument("--screenshots", default=None, help="write screenshots of a few pages into this folder")
    ap.add_argument("--full", action="store_true", help="full-page screenshots")
    ap.add_argument("--jobs", type=int, default=2, help="pages opened at the same time")
    args = ap.parse_args(argv)
    if not os.access(args.chromium, os.X_OK):
        print(f"no Chromium at {args.chromium} (apt-get install chromium)", file=sys.stderr)
        return 1
    return asyncio.run(_main(args))


if __name__ == "__main__":
    sys.exit(main())
