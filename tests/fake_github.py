"""A loopback fake of the GitHub REST endpoints `reconciler github …` uses.

A small FastAPI app, served by uvicorn on a free port (``fake_github_server``
fixture in ``tests/conftest.py``). It speaks GitHub's JSON shapes, status codes
(201 on create, 401 ``Bad credentials``, 404 ``Not Found``, 422 ``Validation
Failed`` for a body over 65,536 characters) and pagination (``per_page``/``page``
and a ``Link`` header with ``rel="next"``/``rel="last"``), and records every
request. Hooks under ``/_fake/`` (no auth, not recorded) seed pull requests and
issues, read the state and inject rate limits: primary (429 + ``Retry-After``)
or secondary (403 with GitHub's "secondary rate limit" message and
``Retry-After``). This is not GitHub; it covers exactly the calls we make.

Routes: ``GET /repos/{o}/{r}/pulls/{n}``, ``GET|POST /repos/{o}/{r}/issues/{n}/comments``,
``PATCH /repos/{o}/{r}/issues/comments/{id}``, ``GET|POST /repos/{o}/{r}/issues``,
``PATCH /repos/{o}/{r}/issues/{n}``.
"""

from __future__ import annotations

import datetime as _dt
import threading
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

TOKEN = "ghs_fAkEtOkEn0123456789abcdefSECRET"
MAX_BODY = 65_536
DOCS = "https://docs.github.com/rest"


class State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.pulls: dict[int, dict[str, Any]] = {}
        self.issues: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.next_number = 1
        self.next_comment = 1000
        self.page_cap = 100
        self.link_host: str | None = None     # serve pagination links on another host (a hostile proxy)
        self.faults: list[dict[str, Any]] = []

    def new_issue(self, repo: str, *, title: str, body: str, labels: list[str], pull: bool = False,
                  number: int | None = None, state: str = "open") -> dict[str, Any]:
        number = number or self.next_number
        self.next_number = max(self.next_number, number + 1)
        issue = {"number": number, "id": 500_000 + number, "title": title, "body": body, "state": state,
                 "state_reason": None, "labels": [{"name": n, "id": abs(hash(n)) % 10**6} for n in labels],
                 "repository": repo, "user": {"login": "github-actions[bot]"}, "created_at": _now(),
                 "html_url": f"https://github.example/{repo}/issues/{number}", "comments": 0}
        if pull:
            issue["pull_request"] = {"url": f"https://api.github.example/repos/{repo}/pulls/{number}"}
        self.issues[number] = issue
        return issue

    def new_comment(self, repo: str, number: int, body: str, user: str = "github-actions[bot]") -> dict[str, Any]:
        comment_id = self.next_comment
        self.next_comment += 1
        comment = {"id": comment_id, "issue_number": number, "body": body, "created_at": _now(),
                   "updated_at": _now(), "user": {"login": user},
                   "html_url": f"https://github.example/{repo}/issues/{number}#issuecomment-{comment_id}"}
        self.comments[comment_id] = comment
        if number in self.issues:
            self.issues[number]["comments"] += 1
        return comment


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"message": message, "documentation_url": DOCS, **extra}, status_code=status)


def create_app() -> FastAPI:
    app = FastAPI()
    state = State()
    app.state.fake = state

    @app.middleware("http")
    async def record_and_guard(request: Request, call_next):
        if request.url.path.startswith("/_fake/"):
            return await call_next(request)
        body = (await request.body()).decode("utf-8", errors="replace")
        entry = {"method": request.method, "path": request.url.path, "query": dict(request.query_params),
                 "body": body, "authorization": request.headers.get("authorization"),
                 "api_version": request.headers.get("x-github-api-version"), "at": time.monotonic()}
        with state.lock:
            state.requests.append(entry)
            fault = state.faults.pop(0) if state.faults else None
        if fault is not None:
            entry["status"] = fault["status"]
            headers = {"Retry-After": str(fault["retry_after"])} if fault.get("retry_after") is not None else {}
            if fault.get("location"):                      # a redirect (3xx) fault
                headers["Location"] = fault["location"]
            return JSONResponse({"message": fault["message"], "documentation_url": DOCS},
                                status_code=fault["status"], headers=headers)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            entry["status"] = 401
            return _error(401, "Bad credentials")
        response = await call_next(request)
        entry["status"] = response.status_code
        return response

    def page(request: Request, items: list[dict[str, Any]]) -> Response:
        per_page = min(int(request.query_params.get("per_page", 30)), 100, state.page_cap)
        number = max(1, int(request.query_params.get("page", 1)))
        last = max(1, -(-len(items) // per_page))
        chunk = items[(number - 1) * per_page: number * per_page]
        links = []
        if number < last:
            url = request.url.replace(netloc=state.link_host) if state.link_host else request.url
            links.append(f'<{url.include_query_params(page=number + 1)}>; rel="next"')
            links.append(f'<{url.include_query_params(page=last)}>; rel="last"')
        headers = {"Link": ", ".join(links)} if links else {}
        return JSONResponse(chunk, headers=headers)

    @app.get("/repos/{owner}/{repo}/pulls/{number}")
    def get_pull(owner: str, repo: str, number: int):
        pull = state.pulls.get(number)
        if pull is None:
            return _error(404, "Not Found")
        return pull

    @app.get("/repos/{owner}/{repo}/issues/{number}/comments")
    def list_comments(owner: str, repo: str, number: int, request: Request):
        if number not in state.issues:
            return _error(404, "Not Found")
        items = sorted((c for c in state.comments.values() if c["issue_number"] == number), key=lambda c: c["id"])
        return page(request, items)

    @app.post("/repos/{owner}/{repo}/issues/{number}/comments", status_code=201)
    async def create_comment(owner: str, repo: str, number: int, request: Request):
        if number not in state.issues:
            return _error(404, "Not Found")
        data = await request.json()
        if problem := _body_problem(data.get("body"), "IssueComment"):
            return problem
        with state.lock:
            comment = state.new_comment(f"{owner}/{repo}", number, data["body"])
        return JSONResponse(comment, status_code=201)

    @app.patch("/repos/{owner}/{repo}/issues/comments/{comment_id}")
    async def update_comment(owner: str, repo: str, comment_id: int, request: Request):
        comment = state.comments.get(comment_id)
        if comment is None:
            return _error(404, "Not Found")
        data = await request.json()
        if problem := _body_problem(data.get("body"), "IssueComment"):
            return problem
        comment.update(body=data["body"], updated_at=_now())
        return comment

    @app.get("/repos/{owner}/{repo}/issues")
    def list_issues(owner: str, repo: str, request: Request):
        wanted = request.query_params.get("state", "open")
        labels = {x for x in request.query_params.get("labels", "").split(",") if x}
        items = [i for i in sorted(state.issues.values(), key=lambda i: -i["number"])   # newest first, as GitHub
                 if (wanted == "all" or i["state"] == wanted)
                 and labels <= {label["name"] for label in i["labels"]}]
        return page(request, items)

    @app.post("/repos/{owner}/{repo}/issues", status_code=201)
    async def create_issue(owner: str, repo: str, request: Request):
        data = await request.json()
        if not data.get("title"):
            return _error(422, "Validation Failed", errors=[{"resource": "Issue", "code": "missing_field",
                                                             "field": "title"}])
        if problem := _body_problem(data.get("body"), "Issue"):
            return problem
        with state.lock:
            issue = state.new_issue(f"{owner}/{repo}", title=data["title"], body=data.get("body") or "",
                                    labels=list(data.get("labels") or []))
        return JSONResponse(issue, status_code=201)

    @app.patch("/repos/{owner}/{repo}/issues/{number}")
    async def update_issue(owner: str, repo: str, number: int, request: Request):
        issue = state.issues.get(number)
        if issue is None:
            return _error(404, "Not Found")
        data = await request.json()
        if "body" in data and (problem := _body_problem(data["body"], "Issue")):
            return problem
        for key in ("title", "body", "state", "state_reason"):
            if key in data:
                issue[key] = data[key]
        return issue

    # ---- hooks ----------------------------------------------------------------------------

    @app.post("/_fake/reset")
    def reset():
        state.reset()
        return {"ok": True}

    @app.put("/_fake/pulls/{number}")
    async def put_pull(number: int, request: Request):
        data = await request.json()
        with state.lock:
            state.pulls[number] = {"number": number, "state": "open", "head": {"sha": data["head_sha"], "ref": "x"},
                                   "base": {"ref": "main"}}
            if number not in state.issues:
                state.new_issue(data.get("repo", "octo/configs"), title=f"PR {number}", body="", labels=[],
                                pull=True, number=number)
        return state.pulls[number]

    @app.post("/_fake/issues")
    async def seed_issue(request: Request):
        data = await request.json()
        with state.lock:
            return state.new_issue(data.get("repo", "octo/configs"), title=data["title"], body=data.get("body", ""),
                                   labels=data.get("labels", []), state=data.get("state", "open"))

    @app.post("/_fake/comments/{number}")
    async def seed_comment(number: int, request: Request):
        data = await request.json()
        with state.lock:
            return state.new_comment("octo/configs", number, data["body"], user=data.get("user", "someone"))

    @app.put("/_fake/faults")
    async def put_faults(request: Request):
        state.faults = list((await request.json())["faults"])
        return {"ok": True}

    @app.put("/_fake/page_cap")
    async def put_page_cap(request: Request):
        data = await request.json()
        state.page_cap = int(data["per_page"])
        state.link_host = data.get("link_host")
        return {"ok": True}

    @app.get("/_fake/state")
    def get_state():
        return {"issues": list(state.issues.values()), "comments": list(state.comments.values()),
                "pulls": list(state.pulls.values())}

    @app.get("/_fake/requests")
    def get_requests():
        return {"requests": state.requests}

    return app


def _body_problem(body: Any, resource: str) -> JSONResponse | None:
    if not isinstance(body, str):
        return _error(422, "Validation Failed", errors=[{"resource": resource, "code": "missing_field",
                                                         "field": "body"}])
    if len(body) > MAX_BODY:
        return _error(422, "Validation Failed", errors=[{
            "resource": resource, "code": "custom", "field": "body",
            "message": f"body is too long (maximum is {MAX_BODY} characters)"}])
    return None


def rate_limit(status: int = 429, retry_after: int = 1, secondary: bool = False) -> dict[str, Any]:
    """A fault spec for ``PUT /_fake/faults``: the next request gets this answer."""
    message = ("You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
               if secondary else "API rate limit exceeded")
    return {"status": status, "message": message, "retry_after": retry_after}


class FakeGitHub:
    """Test-side handle: the fake's URL, its hooks, and the environment a CLI run needs."""

    def __init__(self, url: str, client: Any) -> None:
        self.url = url
        self.repo = "octo/configs"
        self._client = client

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        response = self._client.request(method, path, **kw)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        self._call("POST", "/_fake/reset")

    def open_pull(self, number: int, head_sha: str) -> None:
        self._call("PUT", f"/_fake/pulls/{number}", json={"head_sha": head_sha, "repo": self.repo})

    def seed_issue(self, title: str, body: str = "", labels: list[str] | None = None, state: str = "open") -> dict:
        return self._call("POST", "/_fake/issues", json={"title": title, "body": body, "labels": labels or [],
                                                         "repo": self.repo, "state": state})

    def seed_comment(self, number: int, body: str, user: str = "someone") -> dict:
        return self._call("POST", f"/_fake/comments/{number}", json={"body": body, "user": user})

    def inject(self, *faults: dict[str, Any]) -> None:
        self._call("PUT", "/_fake/faults", json={"faults": list(faults)})

    def cap_page_size(self, per_page: int, link_host: str | None = None) -> None:
        self._call("PUT", "/_fake/page_cap", json={"per_page": per_page, "link_host": link_host})

    def state(self) -> dict[str, Any]:
        return self._call("GET", "/_fake/state")

    def requests(self) -> list[dict[str, Any]]:
        return self._call("GET", "/_fake/requests")["requests"]

    def comments(self, number: int) -> list[dict[str, Any]]:
        return [c for c in self.state()["comments"] if c["issue_number"] == number]

    def issues(self, *, pulls: bool = False) -> list[dict[str, Any]]:
        return [i for i in self.state()["issues"] if pulls or "pull_request" not in i]

    def writes(self) -> list[tuple[str, str]]:
        return [(r["method"], r["path"]) for r in self.requests() if r["method"] in ("POST", "PATCH")]

    def environ(self, **extra: str) -> dict[str, str]:
        """What GitHub Actions would set, pointing at this fake."""
        return {"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": self.repo, "GITHUB_API_URL": self.url,
                "GITHUB_SERVER_URL": "https://github.example", "GITHUB_RUN_ID": "4242", **extra}
