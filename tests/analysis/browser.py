"""A headless Chromium driven over the DevTools protocol on a pipe, to run JavaScript in a rendered page.

Screenshots (``screenshot.py``) show what a page draws; some checks need the page running in
real time (how fast an animation plays) or a value computed inside it. Chromium's
``--remote-debugging-pipe`` reads NUL-terminated JSON commands on file descriptor 3 and answers
on 4, so no network port or extra package is needed.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from analysis.report import chromium

#: Lowest file descriptor for the pipes' own ends, above the 3 and 4 the child's ends are moved to.
FREE_FD = 10


class BrowserError(RuntimeError):
    """Chromium refused a command, a script threw, or a page did not become ready in time."""


class Browser:
    """One headless Chromium with one tab; use as a context manager."""

    def __init__(self, width: int = 1400, height: int = 1300) -> None:
        executable = chromium()
        if executable is None:
            raise BrowserError("Chromium is not installed (Debian: apt-get install chromium)")
        to_child, self._to_browser = os.pipe()
        self._from_browser, from_child = os.pipe()
        child_in, child_out = (fcntl.fcntl(fd, fcntl.F_DUPFD, FREE_FD) for fd in (to_child, from_child))
        os.close(to_child)
        os.close(from_child)

        def wire() -> None:
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        self._process = subprocess.Popen(
            [executable, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--remote-debugging-pipe",
             f"--window-size={width},{height}", "about:blank"],
            preexec_fn=wire, pass_fds=(3, 4, child_in, child_out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(child_in)
        os.close(child_out)
        self._buffer, self._next_id = b"", 0
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self._session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    def close(self) -> None:
        os.close(self._to_browser)
        os.close(self._from_browser)
        self._process.terminate()
        self._process.wait(timeout=30)

    def send(self, method: str, session: str | None = None, **params: Any) -> dict:
        """Send one command and return its result, skipping the events that arrive meanwhile."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply["result"]

    def _read(self) -> dict:
        while b"\0" not in self._buffer:
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise BrowserError("Chromium closed the pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def evaluate(self, expression: str) -> Any:
        """The value of ``expression`` in the tab (awaited if it is a promise)."""
        result = self.send("Runtime.evaluate", self._session, expression=expression, awaitPromise=True,
                           returnByValue=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"the page's script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, page: Path, ready: str = "true", timeout: float = 60.0) -> None:
        """Load ``page`` and wait until the document is loaded and ``ready`` (a JavaScript test) holds."""
        self.send("Page.navigate", self._session, url=page.resolve().as_uri())
        deadline = time.monotonic() + timeout
        while not self.evaluate(f"document.readyState === 'complete' && Boolean({ready})"):
            if time.monotonic() > deadline:
                raise BrowserError(f"{page}: not ready after {timeout:.0f} s ({ready})")
            time.sleep(0.2)

    def overlapping_texts(self, slack: float = 1.0) -> list[tuple[str, str]]:
        """Pairs of texts drawn in one figure of the open page whose boxes overlap by more than ``slack`` pixels
        both ways: tick labels, titles, annotations, legend entries, region labels (plotly draws all of them as SVG
        text; text inside WebGL, as in a 3-D scene, is not seen)."""
        return [tuple(pair) for pair in self.evaluate(OVERLAPS.replace("SLACK", str(float(slack))))]


#: The texts of each figure of a page as boxes, and the pairs of one figure that overlap (see ``overlapping_texts``).
OVERLAPS = r"""(() => {
  const boxes = [];
  document.querySelectorAll('.plotly-graph-div').forEach((figure, index) => {
    figure.querySelectorAll('text').forEach(element => {
      const text = element.textContent.trim(), box = element.getBoundingClientRect();
      if (text && box.width > 0 && box.height > 0 && getComputedStyle(element).visibility !== 'hidden') {
        boxes.push({index, text, box});
      }
    });
  });
  const pairs = [];
  boxes.forEach((a, i) => boxes.slice(i + 1).forEach(b => {
    const across = Math.min(a.box.right, b.box.right) - Math.max(a.box.left, b.box.left);
    const down = Math.min(a.box.bottom, b.box.bottom) - Math.max(a.box.top, b.box.top);
    if (a.index === b.index && across > SLACK && down > SLACK) pairs.push([a.text, b.text]);
  }));
  return pairs;
})()"""

#: A JavaScript test that every figure of a page has been drawn.
DRAWN = "window.Plotly && [...document.querySelectorAll('.plotly-graph-div')].every(figure => figure._fullLayout)"
