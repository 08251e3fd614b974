"""get_click_id on Django's requests, through Django's own test clients and a real URLconf:
WSGIRequest (django.test.Client, RequestFactory) and ASGIRequest (django.test.AsyncClient).

Django is configured in this process once, with this module as its URLconf: no project, no
database, no middleware but what the view needs (none)."""

from __future__ import annotations

import asyncio

# Django ships no type information (django-stubs is not a test dependency): its names are Any
import django  # type: ignore[import-untyped]
import pytest
from django.conf import settings  # type: ignore[import-untyped]
from django.http import HttpRequest, JsonResponse  # type: ignore[import-untyped]
from django.test import AsyncClient, Client, RequestFactory  # type: ignore[import-untyped]
from django.urls import path  # type: ignore[import-untyped]
from traaaction_sdk import get_click_id

from tests.sdk.cases import CASES, CLICK_A, CLICK_B, VIEW_PATH, Case, headers_of, url_of


def click_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"click_id": get_click_id(request)})


urlpatterns = [path(VIEW_PATH.lstrip("/"), click_view)]


@pytest.fixture(scope="module", autouse=True)
def _django() -> None:
    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="tests-sdk-only",
            ALLOWED_HOSTS=["testserver"],
            ROOT_URLCONF=__name__,
            INSTALLED_APPS=[],
            MIDDLEWARE=[],
            DATABASES={},
            USE_TZ=True,
        )
        django.setup()


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_each_case_through_the_django_test_client(case: Case) -> None:
    response = Client().get(url_of(case), headers=headers_of(case))
    assert response.status_code == 200
    assert response.json() == {"click_id": case.expected}


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_each_case_through_django_under_asgi(case: Case) -> None:
    async def fetch() -> object:
        response = await AsyncClient().get(url_of(case), headers=headers_of(case))
        assert response.status_code == 200
        return response.json()

    assert asyncio.run(fetch()) == {"click_id": case.expected}


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_each_case_on_a_request_factory_request(case: Case) -> None:
    request = RequestFactory().get(url_of(case), headers=headers_of(case))
    assert get_click_id(request) == case.expected


def test_the_cookie_jar_of_the_client_reaches_the_view() -> None:
    client = Client()
    client.cookies["trac_click_id"] = CLICK_A
    assert client.get(f"{VIEW_PATH}?trac_click_id={CLICK_B}").json() == {"click_id": CLICK_A}
