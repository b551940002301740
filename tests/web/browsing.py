"""What the browser tests do over and over: log in, wait for images."""

from __future__ import annotations

import re

from django.urls import reverse

from tests.web.conftest import PASSWORD


def log_in(page, live_server, next_path: str, username: str = "staff") -> None:
    page.goto(f"{live_server.url}{reverse('admin:login')}?next={next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(re.escape(next_path)))


def loaded_images(page, selector: str) -> list[int]:
    """naturalWidth of each matching <img>, once the browser finished with it."""
    page.wait_for_function(
        "sel => [...document.querySelectorAll(sel)].every(i => i.complete)",
        arg=selector,
    )
    return page.eval_on_selector_all(selector, "imgs => imgs.map(i => i.naturalWidth)")
