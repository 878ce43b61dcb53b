"""Answers to htmx polls that the page can show (issue 20, item 1), on every polled partial."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

POLLED = ["/dashboard/_dashboard", "/clusters/default/_dashboard", "/clusters/default/emqx/_rows"]


@pytest.mark.parametrize("partial", POLLED)
def test_a_poll_without_a_session_sends_the_whole_page_to_log_in_and_back(client: Client, partial: str) -> None:
    page = "/clusters/default/emqx/?namespace=prod"
    response = client.get(partial, headers={"HX-Request": "true", "HX-Current-URL": f"http://testserver{page}"})
    assert response.status_code == 200  # htmx follows HX-Redirect; a 302 it would swap into the fragment
    assert response["HX-Redirect"] == "/login/?next=%2Fclusters%2Fdefault%2Femqx%2F%3Fnamespace%3Dprod"


@pytest.mark.parametrize("partial", POLLED)
def test_a_plain_request_without_a_session_is_redirected_as_before(client: Client, partial: str) -> None:
    response = client.get(partial)
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")
