"""The agent's HTTP API (aiohttp); bodies are checked against the contract's models and
answered in JSON.

Every request but GET /health carries the run's secret (`Authorization: Bearer ...`);
without it the answer is 401 and the attempt is logged.

GET    /health                  node, Redis status, instances with restarts and class
GET    /metrics                 Prometheus text
GET    /records?limit=N[&instance=ID]  the latest invocation records (of one instance)
PUT    /topology                TopologySpec -> the nodes whose Redis the agent knows
PUT    /hosts                   {node: emulated address} of every node with a container
POST   /instances               DeploySpec -> 201 {instance, class, evidence, record}
PATCH  /instances/{id}          Rewire -> {instance}; new outputs and/or state settings
DELETE /instances/{id}          -> {record}
GET    /instances/{id}/state    -> {state}: what it last synced (for the instance replacing it)
POST   /instances/{id}/call     Message -> {reply, record}; 500 {error, record}
POST   /instances/{id}/cast     Message -> 202 {accepted}; runs in the background, once per
                                message id (a repeat is answered 202 {repeat} and not run)
POST   /requests                RequestPlan -> 202 {planned}; this node sends them as ingress
PATCH  /requests/{workflow}     PlanTarget -> {workflow}; its requests not sent go there
DELETE /requests/{workflow}     -> {cancelled}: how many of its requests were not sent
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from dataclasses import asdict
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, ValidationError

from testbed.platform import codec
from testbed.platform.contract import (
    MAX_BODY_BYTES,
    OPEN_PATHS,
    DeploySpec,
    HostsSpec,
    Message,
    PlanTarget,
    RequestPlan,
    Rewire,
    TopologySpec,
    auth_headers,
)
from testbed.platform.node.agent.node import Agent, DeployError, InvocationError
from testbed.platform.node.agent.records import Delivery
from testbed.platform.node.agent.redis_server import RedisServer

AGENT = web.AppKey("agent", Agent)
REDIS = web.AppKey("redis", RedisServer)
DEFAULT_RECORDS = 100
LOG = logging.getLogger("agent.access")


def _error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


def _bad_request(error: Exception) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(
        text=json.dumps({"error": str(error)}), content_type="application/json"
    )


async def _body(request: web.Request, model: type[BaseModel]) -> Any:
    """The request body as `model`, or an HTTP 400 naming what is wrong."""
    try:
        return model.model_validate(await request.json())
    except (json.JSONDecodeError, ValidationError) as error:
        raise _bad_request(error) from error


async def _message(request: web.Request) -> tuple[Message, Delivery, Any]:
    """A `Message` body, how it came (stamped on arrival) and its decoded value (HTTP 400 if
    it does not decode)."""
    message: Message = await _body(request, Message)
    delivery = Delivery(
        message.rid, message.src, message.src_node, message.sent_s, time.time(),
        len(message.msg), message.keys,
    )  # fmt: skip
    try:
        return message, delivery, codec.decode(message.msg)
    except codec.DecodeError as error:
        raise _bad_request(ValueError(f"msg is not an encoded value: {error}")) from error


async def health(request: web.Request) -> web.Response:
    agent, redis = request.app[AGENT], request.app[REDIS]
    return web.json_response(
        {
            "node": agent.node,
            "redis": {
                "up": redis.up,
                "port": redis.port,
                "pid": redis.pid,
                "restarts": redis.restarts,
            },
            "gpu": {"available": agent.gpu.available, "name": agent.gpu.name},
            "messages": {
                **asdict(agent.courier.counters),
                "repeats_received": agent.received.repeats,
            },
            "instances": {key: inst.status() for key, inst in agent.instances.items()},
        }
    )


async def metrics(request: web.Request) -> web.Response:
    body = request.app[AGENT].metrics.render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def records(request: web.Request) -> web.Response:
    """The newest `limit` records, of one `instance` when the query names it."""
    try:
        limit = int(request.query.get("limit", DEFAULT_RECORDS))
    except ValueError as error:
        raise _bad_request(error) from error
    instance = request.query.get("instance")
    kept = request.app[AGENT].records
    texts = [text for name, text in kept if instance is None or name == instance]
    latest = texts[-limit:] if limit > 0 else []
    return web.Response(
        text=f'{{"records": [{",".join(latest)}]}}', content_type="application/json"
    )


async def topology(request: web.Request) -> web.Response:
    spec: TopologySpec = await _body(request, TopologySpec)
    agent = request.app[AGENT]
    await agent.state.update(spec)
    return web.json_response({"nodes": sorted(agent.state.addresses)})


async def hosts(request: web.Request) -> web.Response:
    table: HostsSpec = await _body(request, HostsSpec)
    agent = request.app[AGENT]
    agent.courier.hosts.adopt(table.addresses)
    await agent.state.adopt_hosts(table.addresses)
    return web.json_response({"nodes": sorted(table.addresses)})


async def deploy(request: web.Request) -> web.Response:
    spec: DeploySpec = await _body(request, DeploySpec)
    agent = request.app[AGENT]
    if spec.instance in agent.instances:
        return _error(409, f"instance {spec.instance} exists")
    try:
        instance, record = await agent.deploy(spec)
    except DeployError as error:
        return _error(400, str(error))
    except InvocationError as error:
        return _error(500, str(error), record=error.record.model_dump(mode="json"))
    status = instance.status()
    body = {"instance": instance.id, "class": status["class"], "evidence": status["evidence"]}
    return web.json_response({**body, "record": record.model_dump(mode="json")}, status=201)


async def rewire(request: web.Request) -> web.Response:
    """Re-point a live instance (a task of its workflow moved to another node)."""
    body: Rewire = await _body(request, Rewire)
    agent, instance_id = request.app[AGENT], request.match_info["id"]
    if instance_id not in agent.instances:
        return _error(404, f"no instance {instance_id}")
    agent.instances[instance_id].rewire(body)
    return web.json_response({"instance": instance_id})


async def remove(request: web.Request) -> web.Response:
    instance_id = request.match_info["id"]
    if instance_id not in request.app[AGENT].instances:
        return _error(404, f"no instance {instance_id}")
    record = await request.app[AGENT].remove(instance_id)
    return web.json_response({"record": record.model_dump(mode="json")})


async def saved_state(request: web.Request) -> web.Response:
    """The state the instance last synced, encoded as messages are (for its successor
    instance when the task moves)."""
    instance = request.app[AGENT].instances.get(request.match_info["id"])
    if instance is None:
        return _error(404, f"no instance {request.match_info['id']}")
    return web.json_response({"state": codec.encode(instance.saved_state)})


async def call(request: web.Request) -> web.Response:
    _, delivery, msg = await _message(request)
    agent, instance_id = request.app[AGENT], request.match_info["id"]
    if instance_id not in agent.instances:
        return _error(404, f"no instance {instance_id}")
    try:
        reply, record = await agent.call(instance_id, delivery, msg)
    except InvocationError as error:
        return _error(500, str(error), record=error.record.model_dump(mode="json"))
    except RuntimeError as error:
        return _error(503, str(error))
    return web.json_response({"reply": reply, "record": record.model_dump(mode="json")})


async def cast(request: web.Request) -> web.Response:
    message, delivery, msg = await _message(request)
    agent, instance_id = request.app[AGENT], request.match_info["id"]
    if instance_id not in agent.instances:
        return _error(404, f"no instance {instance_id}")
    if not agent.received.first_time(message.mid):  # sent again after a failure on the way
        return web.json_response({"accepted": True, "repeat": True}, status=202)
    agent.cast(instance_id, delivery, msg)
    return web.json_response({"accepted": True}, status=202)


async def plan_requests(request: web.Request) -> web.Response:
    plan: RequestPlan = await _body(request, RequestPlan)
    request.app[AGENT].plan_requests(plan)
    return web.json_response({"planned": len(plan.requests)}, status=202)


async def retarget(request: web.Request) -> web.Response:
    """Send a workflow's requests to its entry's new instance."""
    target: PlanTarget = await _body(request, PlanTarget)
    workflow = request.match_info["workflow"]
    try:
        request.app[AGENT].retarget(workflow, target)
    except KeyError:
        return _error(404, f"no request plan of workflow {workflow}")
    return web.json_response({"workflow": workflow})


async def cancel_requests(request: web.Request) -> web.Response:
    """Drop a workflow's requests not sent yet (the workflow's lifetime ended)."""
    cancelled = request.app[AGENT].cancel_requests(request.match_info["workflow"])
    return web.json_response({"cancelled": cancelled})


def _authenticated(secret: str) -> Any:
    """A middleware that answers 401 to a request without the run's secret (but for
    `OPEN_PATHS`), and logs who tried."""
    expected = auth_headers(secret)["Authorization"].encode()

    @web.middleware
    async def check(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path in OPEN_PATHS and request.method == "GET":
            return await handler(request)
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            LOG.warning(
                "refused %s %s from %s: %s", request.method, request.path, request.remote,
                "wrong secret" if given else "no secret",
            )  # fmt: skip
            return _error(401, "this agent answers only requests that carry the run's secret")
        return await handler(request)

    return check


def make_app(agent: Agent, redis: RedisServer) -> web.Application:
    """The routes over a started agent and its Redis supervisor; every route but `/health`
    needs the agent's secret."""
    app = web.Application(
        client_max_size=MAX_BODY_BYTES, middlewares=[_authenticated(agent.secret)]
    )
    app[AGENT] = agent
    app[REDIS] = redis
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/records", records)
    app.router.add_put("/topology", topology)
    app.router.add_put("/hosts", hosts)
    app.router.add_post("/instances", deploy)
    app.router.add_patch("/instances/{id}", rewire)
    app.router.add_delete("/instances/{id}", remove)
    app.router.add_get("/instances/{id}/state", saved_state)
    app.router.add_post("/instances/{id}/call", call)
    app.router.add_post("/instances/{id}/cast", cast)
    app.router.add_post("/requests", plan_requests)
    app.router.add_patch("/requests/{workflow}", retarget)
    app.router.add_delete("/requests/{workflow}", cancel_requests)
    return app
