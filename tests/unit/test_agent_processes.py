"""Node agents as real processes on loopback, each with the redis-server it supervises.

Every process a test starts (agents, and through them redis-servers) is stopped after it,
even when it fails: agents get SIGTERM (which stops their Redis), then SIGKILL, and a Redis
an agent left behind is killed by the pid its /health reported.
"""

from __future__ import annotations

import base64
import json
import os
import pickle
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest
import redis

from testbed.platform import codec
from testbed.workload.modules import load_function_module

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[2]
VECTOR_MUL = REPO / "functions" / "vector_mul" / "vector_mul.py"
POLL_S = 0.05
SECRET = "test-secret-of-this-module"
READY_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0

# Counts calls in memory and syncs the count; "crash" raises.
COUNTER = """
count = 0


def handle_init(ctx, payload, saved_state):
    global count
    count = saved_state or 0


def handle_call(ctx, src, msg):
    global count
    if msg == "crash":
        raise ValueError("asked to crash")
    count += 1
    ctx.sync(count)
    return count
"""

# ("put", key, value) / ("get", key) on ctx.state; ("mode",) answers ctx.mode.
# Puts a request's state under one name and passes the request on; the next function reads
# that name back and fails when it finds another request's value.
PRODUCE = """
def handle_cast(ctx, src, msg):
    ctx.state.put("frame", msg)
    ctx.cast("out", msg)
"""
CONSUME = """
def handle_cast(ctx, src, msg):
    found = ctx.state.get("frame")
    if found != msg:
        raise ValueError(f"request {msg} read {found}")
"""
KEY_VALUE = """
def handle_call(ctx, src, msg):
    if msg[0] == "put":
        return ctx.state.put(msg[1], msg[2])
    if msg[0] == "get":
        return ctx.state.get(msg[1])
    return ctx.mode
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _poll(probe: Callable[[], T | None], timeout_s: float, what: str) -> T:
    """The first non-None answer of `probe` within `timeout_s`."""
    for _ in range(int(timeout_s / POLL_S)):
        answer = probe()
        if answer is not None:
            return answer
        time.sleep(POLL_S)
    raise AssertionError(f"no {what} within {timeout_s} s")


def _http(method: str, url: str, body: Any = None, secret: str | None = SECRET) -> tuple[int, Any]:
    """(status, body); JSON bodies are decoded, others returned as text. The request
    carries `secret` (none when None)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if secret is not None:
        request.add_header("Authorization", f"Bearer {secret}")
    try:
        reply = urllib.request.urlopen(request, timeout=30)
    except urllib.error.HTTPError as error:
        reply = error
    with reply:
        status, text, kind = (
            reply.getcode(),
            reply.read().decode(),
            reply.headers.get_content_type(),
        )
    return status, json.loads(text) if kind == "application/json" else text


@dataclass
class Agent:
    """One agent process and what a test needs to reach it."""

    node: str
    port: int
    redis_port: int
    process: subprocess.Popen[bytes]
    records_file: Path
    redis_pids: set[int] = field(default_factory=set)

    def logged(self) -> list[dict[str, Any]]:
        """The records the agent appended to its records file so far."""
        return [json.loads(line) for line in self.records_file.read_text().splitlines()]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def instance_url(self, instance: str) -> str:
        return f"{self.url}/instances/{instance}"

    def health(self) -> dict[str, Any]:
        status, body = _http("GET", f"{self.url}/health")
        assert status == 200, body
        if body["redis"]["pid"] is not None:
            self.redis_pids.add(body["redis"]["pid"])
        return body

    def deploy(self, instance: str, code: str, **spec: Any) -> dict[str, Any]:
        body = {
            "instance": instance, "workflow": "wf", "function": code,
            "code": shipped(code), **spec,
        }  # fmt: skip
        status, answer = _http("POST", f"{self.url}/instances", body)
        assert status == 201, answer
        return answer

    def call(
        self, instance: str, msg: Any, rid: str | None = None, keys: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        body = {"src": "test", "msg": codec.encode(msg), "rid": rid, "keys": keys or {}}
        return _http("POST", f"{self.instance_url(instance)}/call", body)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL; then any Redis it was seen with that still runs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT_S)
        for pid in self.redis_pids:
            cmdline = Path(f"/proc/{pid}/cmdline")
            if cmdline.exists() and b"redis-server" in cmdline.read_bytes():
                os.kill(pid, signal.SIGKILL)


SOURCES = {
    "vector_mul.py": VECTOR_MUL.read_text(),
    "counter.py": COUNTER,
    "key_value.py": KEY_VALUE,
    "produce.py": PRODUCE,
    "consume.py": CONSUME,
    "broken.py": "1 / 0\n",
}


def shipped(file: str) -> dict[str, str]:
    """A function's code as it travels in a deploy body."""
    return {"file": file, "source": SOURCES[file]}


@pytest.fixture(scope="module")
def start_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Agent]]:
    """Starts agents (ready when /health answers); stops them all at the end of the module."""
    agents: list[Agent] = []
    logs = tmp_path_factory.mktemp("logs")
    work = tmp_path_factory.mktemp("work")
    secret_file = logs / "secret"
    secret_file.write_text(SECRET)

    def start(node: str) -> Agent:
        port, redis_port = _free_port(), _free_port()
        command = [
            sys.executable, "-m", "testbed.platform.node.agent", "--node", node,
            "--host", "127.0.0.1", "--port", str(port), "--redis-port", str(redis_port),
            "--work-dir", str(work / node), "--runtime", "cpu",
            "--records-file", str(logs / f"{node}.jsonl"), "--secret-file", str(secret_file),
        ]  # fmt: skip
        with (logs / f"{node}.log").open("wb") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        agent = Agent(node, port, redis_port, process, logs / f"{node}.jsonl")
        agents.append(agent)

        def ready() -> bool | None:
            assert process.poll() is None, (logs / f"{node}.log").read_text()
            try:
                return agent.health()["redis"]["up"] or None
            except OSError:
                return None

        _poll(ready, READY_TIMEOUT_S, f"agent {node}")
        return agent

    try:
        yield start
    finally:
        for agent in agents:
            agent.stop()


@pytest.fixture(scope="module")
def pair(start_agent: Callable[[str], Agent]) -> tuple[Agent, Agent]:
    """Agents n1 and n2; n1 knows n2's Redis and a 1 ms, 100 Mbit/s link to it."""
    n1, n2 = start_agent("n1"), start_agent("n2")
    topology = {
        "redis": {"n2": ["127.0.0.1", n2.redis_port]},
        "links": [{"a": "n1", "b": "n2", "latency_ms": 1, "bandwidth_mbps": 100}],
    }
    status, body = _http("PUT", f"{n1.url}/topology", topology)
    assert (status, body) == (200, {"nodes": ["n1", "n2"]})
    return n1, n2


def test_vector_mul_chain_runs_across_two_agents(pair: tuple[Agent, Agent]) -> None:
    n1, n2 = pair
    size = 50
    worker = {"seed": "42", "is_client": "false", "input_size": str(size)}
    n1.deploy("f1", "vector_mul.py", init_payload=worker, outputs={"out": n2.instance_url("f2")})
    n2.deploy("f2", "vector_mul.py", init_payload=worker, outputs={"out": n1.instance_url("vc")})
    # One round only: the next tick is due long after the test.
    client = {**worker, "is_client": "true", "inter_arrival": "600000"}
    n1.deploy("vc", "vector_mul.py", init_payload=client, outputs={"out": n1.instance_url("f1")})

    local_redis = redis.Redis(port=n1.redis_port)
    try:
        # The request's chain id comes first: the client's tick started the request.
        key = _poll(
            lambda: next(local_redis.scan_iter("*:n1:vc/result"), None), 10.0, "chain result"
        )
        data = local_redis.get(key)
    finally:
        local_redis.close()
    result = codec.unpack(data)
    module = load_function_module(VECTOR_MUL, "expected")
    weights = np.random.default_rng(42).random(size)
    assert result["round"] == 0
    np.testing.assert_allclose(result["x"], module.input_vector(42, 0, size) * weights**2)

    _, body = _http("GET", f"{n2.url}/records")
    (cast,) = [r for r in body["records"] if (r["instance"], r["handler"]) == ("f2", "handle_cast")]
    assert cast["node"] == "n2" and cast["error"] is None
    assert (cast["mode"], cast["reason"]) == ("cpu", "runtime forced cpu")
    # The client's round is one request, followed from its timer to the reply.
    assert (cast["src"], cast["src_node"], cast["function"]) == ("f1", "n1", "vector_mul.py")
    assert cast["sent_s"] <= cast["received_s"] <= cast["start_s"] < cast["end_s"]
    assert cast["transfer_ms"] == pytest.approx((cast["received_s"] - cast["sent_s"]) * 1e3)
    chain = [
        r for r in n1.logged() + n2.logged()
        if r["request_id"] == cast["request_id"] and r["handler"] == "handle_cast"
    ]  # fmt: skip
    assert sorted(r["instance"] for r in chain) == ["f1", "f2", "vc", "vc"]
    assert cast in n2.logged(), "the records file holds what /records serves"


def test_planned_requests_leave_the_ingress_and_are_traced(pair: tuple[Agent, Agent]) -> None:
    n1, n2 = pair
    worker = {"seed": "1", "is_client": "false", "input_size": "10"}
    n2.deploy("sink", "vector_mul.py", init_payload=worker)
    n1.deploy(
        "entry", "vector_mul.py", init_payload=worker, outputs={"out": n2.instance_url("sink")}
    )
    now = time.time()
    msg = codec.encode({"round": 0, "x": np.ones(10)})
    plan = {
        "workflow": "wf", "function": "entry", "target": n1.instance_url("entry"),
        "requests": [{"id": f"r{i}", "at_s": now + 0.2 * i, "msg": msg} for i in range(3)],
    }  # fmt: skip
    assert _http("POST", f"{n2.url}/requests", plan) == (202, {"planned": 3})

    def sink_records() -> list[dict[str, Any]] | None:
        found = [r for r in n2.logged() if r["instance"] == "sink" and r["request_id"]]
        return found if len(found) == 3 else None

    sinks = _poll(sink_records, 10.0, "three requests through entry and sink")
    sent = {r["request_id"]: r for r in n2.logged() if r["handler"] == "request"}
    assert sorted(sent) == ["r0", "r1", "r2"]
    for record in sent.values():
        assert (record["instance"], record["node"], record["error"]) == ("ingress", "n2", None)
    for index, record in enumerate(sorted(sent.values(), key=lambda r: r["request_id"])):
        assert record["start_s"] == pytest.approx(now + 0.2 * index, abs=0.1), "sent on time"
    entries = {r["request_id"]: r for r in n1.logged() if r["instance"] == "entry"}
    for sink in sinks:
        entry = entries[sink["request_id"]]
        assert (entry["src"], entry["src_node"]) == ("ingress", "n2")
        assert (sink["src"], sink["src_node"]) == ("entry", "n1")
        assert sent[sink["request_id"]]["start_s"] <= entry["start_s"] <= sink["start_s"]


def test_state_put_and_get_between_agents_are_remote(pair: tuple[Agent, Agent]) -> None:
    n1, _ = pair
    towards_n2 = {"destination": "n2", "max_latency_ms": 1000}
    n1.deploy("kv", "key_value.py", state=towards_n2)

    status, put = n1.call("kv", ("put", "k", {"v": [1, 2]}), rid="r1")
    assert status == 200, put
    key = codec.decode(put["reply"])
    assert key == "r1:n2:k", "the request is the chain; the key names the holder"
    (access,) = put["record"]["state_accesses"]
    assert (access["key"], access["node"], access["locality"], access["operation"]) == (
        "r1:n2:k",
        "n2",
        "remote",
        "put",
    )
    assert access["hops"] == 1

    # A message of the request carries its keys: the name is read from the holder at once.
    status, got = n1.call("kv", ("get", "k"), rid="r1", keys={"k": key})
    assert status == 200, got
    assert codec.decode(got["reply"]) == {"v": [1, 2]}
    accesses = [(a["node"], a["locality"], a["hit"]) for a in got["record"]["state_accesses"]]
    assert accesses == [("n2", "remote", True)]
    # Another request has no such state, and does not look for one.
    status, other = n1.call("kv", ("get", "k"), rid="r2")
    assert (status, codec.decode(other["reply"]), other["record"]["state_accesses"]) == (
        200,
        None,
        [],
    )

    _, mode = n1.call("kv", ("mode",))
    assert codec.decode(mode["reply"]) == "cpu"


def test_concurrent_requests_of_one_workflow_never_read_each_others_state(
    pair: tuple[Agent, Agent],
) -> None:
    """Ten requests leave the ingress at the same instant; each puts `frame` on n1 and
    reads it back on n2 by that name while the others do the same."""
    n1, n2 = pair
    topology = {
        "redis": {"n1": ["127.0.0.1", n1.redis_port]},
        "links": [{"a": "n1", "b": "n2", "latency_ms": 1, "bandwidth_mbps": 100}],
    }
    assert _http("PUT", f"{n2.url}/topology", topology)[0] == 200
    n2.deploy("consume", "consume.py")
    n1.deploy("produce", "produce.py", outputs={"out": n2.instance_url("consume")})
    at_s = time.time() + 0.3
    plan = {
        "workflow": "wf-iso", "function": "produce", "target": n1.instance_url("produce"),
        "requests": [{"id": f"iso{i}", "at_s": at_s, "msg": codec.encode(i)} for i in range(10)],
    }  # fmt: skip
    assert _http("POST", f"{n2.url}/requests", plan) == (202, {"planned": 10})

    def consumed() -> list[dict[str, Any]] | None:
        found = [
            r for r in n2.logged() if (r["instance"], r["handler"]) == ("consume", "handle_cast")
        ]
        return found if len(found) == 10 else None

    records = _poll(consumed, 20.0, "ten requests through produce and consume")
    assert [r["error"] for r in records] == [None] * 10
    keys = {a["key"] for r in records for a in r["state_accesses"]}
    assert keys == {f"iso{i}:n1:frame" for i in range(10)}


def test_crash_fails_the_invocation_and_restarts_with_synced_state(
    pair: tuple[Agent, Agent],
) -> None:
    n1, _ = pair
    n1.deploy("counter", "counter.py")
    assert [codec.decode(n1.call("counter", "add")[1]["reply"]) for _ in range(2)] == [1, 2]

    status, body = n1.call("counter", "crash")
    assert status == 500
    assert body["error"] == "ValueError: asked to crash"
    assert body["record"]["error"] == "ValueError: asked to crash"
    assert n1.health()["instances"]["counter"]["restarts"] == 1

    status, body = n1.call("counter", "add")
    assert status == 200 and codec.decode(body["reply"]) == 3

    _, metrics = _http("GET", f"{n1.url}/metrics")
    for line in (
        'agent_invocations_total{handler="handle_call",instance="counter",outcome="error"} 1.0',
        'agent_invocations_total{handler="handle_call",instance="counter",outcome="ok"} 3.0',
        'agent_instance_restarts_total{instance="counter"} 1.0',
        'agent_invocation_seconds_count{handler="handle_call",instance="counter"} 4.0',
        "agent_redis_up 1.0",
    ):
        assert line in metrics.splitlines()


def test_undeploy_runs_handle_stop_and_forgets_the_instance(pair: tuple[Agent, Agent]) -> None:
    n1, _ = pair
    n1.deploy("gone", "counter.py")
    status, body = _http("DELETE", n1.instance_url("gone"))
    assert status == 200 and body["record"]["handler"] == "handle_stop"
    assert "gone" not in n1.health()["instances"]
    assert n1.call("gone", "add")[0] == 404


@dataclass
class _Exploit:
    """Unpickled, it creates `marker`: what a pickle from an attacker could do."""

    marker: str

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (Path(self.marker),))


def test_bad_requests_are_refused_with_the_reason(
    pair: tuple[Agent, Agent], tmp_path: Path
) -> None:
    n1, _ = pair
    body = {"instance": "x", "workflow": "wf", "function": "f", "code": shipped("counter.py")}
    escaping = {**body, "code": {"file": "../counter.py", "source": COUNTER}}
    status, answer = _http("POST", f"{n1.url}/instances", escaping)
    assert status == 400 and "code.file" in answer["error"], "no path leaves the work folder"
    status, answer = _http("POST", f"{n1.url}/instances", {**body, "x": 1})
    assert status == 400 and "x" in answer["error"]
    status, answer = _http("POST", f"{n1.url}/instances", {**body, "code": shipped("broken.py")})
    assert status == 400 and "does not load: ZeroDivisionError" in answer["error"]
    n1.deploy("strict", "counter.py")
    status, answer = _http("POST", f"{n1.instance_url('strict')}/call", {"src": "t", "msg": "!"})
    assert status == 400 and "not an encoded value" in answer["error"]
    # A pickle that would run a command when unpickled: refused, and nothing runs.
    marker = tmp_path / "pickle-ran"
    exploit = base64.b64encode(pickle.dumps(_Exploit(str(marker)))).decode()
    status, answer = _http(
        "POST", f"{n1.instance_url('strict')}/call", {"src": "t", "msg": exploit}
    )
    assert status == 400 and "not an encoded value" in answer["error"]
    assert not marker.exists(), "decoding a message must run no code"


def test_agent_restarts_its_redis_when_it_dies(start_agent: Callable[[str], Agent]) -> None:
    agent = start_agent("n3")
    before = agent.health()["redis"]
    assert before["up"] and before["restarts"] == 0
    os.kill(before["pid"], signal.SIGKILL)

    def restarted() -> dict[str, Any] | None:
        redis_status = agent.health()["redis"]
        return redis_status if redis_status["restarts"] == 1 and redis_status["up"] else None

    after = _poll(restarted, 10.0, "Redis restart")
    assert after["pid"] != before["pid"]
    _, metrics = _http("GET", f"{agent.url}/metrics")
    assert "agent_redis_restarts 1.0" in metrics.splitlines()
    assert "agent_redis_up 1.0" in metrics.splitlines()


def test_a_cast_sent_again_with_the_same_id_runs_once(pair: tuple[Agent, Agent]) -> None:
    n1, _ = pair
    n1.deploy("once", "counter.py")
    body = {"src": "test", "msg": codec.encode("add"), "mid": "sender.boot.1"}
    answers = [_http("POST", f"{n1.instance_url('once')}/cast", body) for _ in range(2)]
    assert [status for status, _ in answers] == [202, 202]
    assert answers[1][1] == {"accepted": True, "repeat": True}
    _http("POST", f"{n1.instance_url('once')}/cast", {**body, "mid": "sender.boot.2"})

    def casts() -> list[dict[str, Any]] | None:
        found = [
            r for r in n1.logged() if r["instance"] == "once" and r["handler"] == "handle_cast"
        ]
        return found if len(found) >= 2 else None

    assert len(_poll(casts, 10.0, "two casts run")) == 2
    time.sleep(0.3)
    assert len(casts() or []) == 2, "the repeat never ran"
    assert n1.health()["messages"]["repeats_received"] == 1


def test_a_call_carries_a_message_of_megabytes(pair: tuple[Agent, Agent]) -> None:
    """aiohttp reads 1 MiB bodies by default; messages of a few MB (an image, a frame)
    must pass."""
    n1, _ = pair
    n1.deploy("sizes", "key_value.py")
    status, body = n1.call("sizes", ("put", "big", bytes(5_000_000)))
    assert status == 200, body
    status, body = n1.call("sizes", ("get", codec.decode(body["reply"])))
    assert status == 200, str(body)[:300]
    assert len(codec.decode(body["reply"])) == 5_000_000


def test_requests_without_the_runs_secret_are_refused_and_logged(
    pair: tuple[Agent, Agent],
) -> None:
    """Only `GET /health` answers without the secret; every other route answers 401, runs
    nothing and logs who tried."""
    n1, _ = pair
    assert _http("GET", f"{n1.url}/health", secret=None)[0] == 200
    body = {"instance": "intruder", "workflow": "wf", "function": "counter.py"}
    attempts = [
        ("POST", f"{n1.url}/instances", {**body, "code": shipped("counter.py")}),
        ("GET", f"{n1.url}/records", None),
        ("GET", f"{n1.url}/metrics", None),
        ("PUT", f"{n1.url}/hosts", {"addresses": {"n9": "10.9.9.9"}}),
        ("POST", f"{n1.url}/requests", {"workflow": "wf", "requests": []}),
    ]
    for secret in (None, "wrong-secret-wrong-secret", SECRET + "x"):
        for method, url, payload in attempts:
            status, answer = _http(method, url, payload, secret=secret)
            assert status == 401, (method, url, secret, answer)
    assert _http("GET", f"{n1.instance_url('intruder')}/state")[0] == 404, "nothing deployed"
    log = (n1.records_file.parent / "n1.log").read_text()
    assert "refused POST /instances from 127.0.0.1: no secret" in log
    assert "refused POST /instances from 127.0.0.1: wrong secret" in log
