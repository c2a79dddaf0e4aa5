"""`python -m testbed.platform.node.agent --node NAME ...`: the node agent as a process.

It starts the node's Redis, serves the API until SIGTERM/SIGINT, then stops the
instances' timers and the Redis server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from aiohttp import web

from testbed.platform.contract import AGENT_PORT, REDIS_PORT, WORK_DIR_IN_NODE, TopologySpec
from testbed.platform.node.agent.app import make_app
from testbed.platform.node.agent.metrics import AgentMetrics
from testbed.platform.node.agent.node import Agent
from testbed.platform.node.agent.records import RecordLog
from testbed.platform.node.agent.redis_server import RedisServer
from testbed.platform.node.agent.state_backend import StateBackend
from testbed.platform.node.runtime.config import DEFAULT_CONFIG, GaiaConfig
from testbed.platform.node.runtime.gpu import detect_gpu
from testbed.platform.node.state import make_state_policy
from testbed.plugins import RUNTIME_POLICIES, STATE_POLICIES

ANY_ADDRESS = "0.0.0.0"
"""In a container the agent serves on every address (it has only its own networks); on a
board it is given its tunnels' addresses, and answers on no other."""
MIN_SECRET_CHARS = 16
"""A shorter secret is a mistake (the controller's have 43)."""
HANDLER_THREADS = 64
"""Worker threads for function handlers, whatever the host's CPU count (Python's default
is CPUs + 4): a handler mostly waits on its state accesses and messages, so a function
that allows many invocations at once must not queue behind a handful of threads."""


def _peer(text: str) -> tuple[str, tuple[str, int]]:
    """`NODE=HOST:PORT` -> (node, (host, port))."""
    node, _, address = text.partition("=")
    host, _, port = address.rpartition(":")
    if not (node and host and port.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r} is not NODE=HOST:PORT")
    return node, (host, int(port))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m testbed.platform.node.agent")
    parser.add_argument("--node", required=True)
    parser.add_argument(
        "--host", action="append", default=None,
        help="an address to serve on (repeatable; default: all); Redis takes the first",
    )  # fmt: skip
    parser.add_argument("--port", type=int, default=AGENT_PORT)
    parser.add_argument("--redis-port", type=int, default=REDIS_PORT)
    parser.add_argument(
        "--work-dir", type=Path, default=Path(WORK_DIR_IN_NODE), help="where deployed code goes"
    )
    parser.add_argument("--state-policy", choices=STATE_POLICIES.names(), default="databelt")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random state policy")
    parser.add_argument("--runtime", choices=RUNTIME_POLICIES.names(), default="auto")
    parser.add_argument(
        "--peer", type=_peer, action="append", default=[], help="another node's Redis"
    )
    parser.add_argument(
        "--records-file", type=Path, default=None, help="append every record here (JSON lines)"
    )
    parser.add_argument(
        "--decisions-file", type=Path, default=None, help="append every runtime decision here"
    )
    parser.add_argument(
        "--secret-file", type=_secret, required=True,
        help="the run's secret: requests without it are refused",
    )  # fmt: skip
    parser.add_argument(
        "--gaia", type=_gaia, default=DEFAULT_CONFIG, help="the runtime's constants (JSON)"
    )
    return parser


def _secret(path: str) -> str:
    try:
        secret = Path(path).read_text().strip()
    except OSError as error:
        raise argparse.ArgumentTypeError(f"--secret-file: {error}") from error
    if len(secret) < MIN_SECRET_CHARS:
        raise argparse.ArgumentTypeError(
            f"--secret-file: {path} holds fewer than {MIN_SECRET_CHARS} characters"
        )
    return secret


def _gaia(text: str) -> GaiaConfig:
    try:
        return GaiaConfig.model_validate_json(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"--gaia: {error}") from error


async def serve(args: argparse.Namespace) -> None:
    """Run until a termination signal, then shut down in reverse order of start."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(HANDLER_THREADS, thread_name_prefix="handler"))
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with contextlib.AsyncExitStack() as started:
        hosts = args.host or [ANY_ADDRESS]
        redis = RedisServer(hosts[0], args.redis_port)
        started.push_async_callback(redis.stop)
        await redis.start()
        policy = make_state_policy(args.state_policy, args.seed)
        state = StateBackend(args.node, (redis.client_host, args.redis_port), policy)
        started.push_async_callback(state.aclose)
        await state.update(TopologySpec(redis=dict(args.peer)))
        agent = Agent(
            args.node, args.work_dir, state, AgentMetrics(redis), detect_gpu(),
            args.runtime, RecordLog(args.records_file), args.gaia,
            RecordLog(args.decisions_file), secret=args.secret_file,
        )  # fmt: skip
        started.push_async_callback(agent.close)
        runner = web.AppRunner(make_app(agent, redis))
        started.push_async_callback(runner.cleanup)
        await runner.setup()
        for host in hosts:
            await web.TCPSite(runner, host, args.port).start()
        logging.info("agent %s on %s port %d", args.node, ", ".join(hosts), args.port)
        await stop.wait()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(serve(_parser().parse_args()))


if __name__ == "__main__":
    main()
