"""Shortest-delay search between a set of vertices of a `LinkGraph`, on one or more cores.

Three things keep it fast; none changes an answer:
- symmetry: the graph is undirected, so each pair is searched from one end only; sources
  are taken in order (the farthest from the others first) and each searches only for the
  vertices after it;
- early stopping: a search ends once its distance passes the farthest vertex it still
  needs (scipy's `limit`). That distance is guessed from a recent call for a nearby
  instant (paths change little from one tick to the next), plus a margin that grows with
  the time between the two; a vertex the guess left out is searched again without a
  limit, so a poor guess costs time only. A few instants are remembered, so predictions
  for other instants interleaved with the ticks do not spoil the guesses;
- processes: scipy's Dijkstra holds the GIL, so threads do not run it in parallel; with
  `workers > 1` the searches are split over this process and `workers - 1` helper
  processes, started once and kept until `close()`. A helper gets the graph's three CSR
  arrays (a few hundred kB) and returns only the columns asked for.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

from testbed.topology.graph import LinkGraph, composite_from_ms

# Margin on a remembered call's distances when guessing how far a search must go, and
# how far apart in time (and how many) remembered calls may be.
_GUESS_FACTOR = 1.01
_GUESS_MARGIN_MS = 1.0
_GUESS_DRIFT_MS_PER_S = 0.2
_GUESS_HORIZON_S = 120.0
_REMEMBERED_CALLS = 4
# Below this many vertex visits (a few ms of work) a helper process costs more than it saves.
_PARALLEL_MIN_VISITS = 50_000
# Searches of one worker are grouped into this many scipy calls, each with one limit:
# more groups fit the limits closer, fewer save call overhead.
_BATCHES_PER_WORKER = 24


def _distance_rows(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    vertices: int,
    searches: list[tuple[np.ndarray, float]],
    targets: np.ndarray,
) -> list[np.ndarray]:
    """For each (sources, limit): summed weights from each source to each target (inf:
    unreachable or beyond the limit). One call per worker and tick: the graph travels once."""
    matrix = csr_matrix((data, indices, indptr), shape=(vertices, vertices))
    return [
        dijkstra(matrix, directed=True, indices=sources, limit=limit)[:, targets]
        for sources, limit in searches
    ]


@dataclass(frozen=True)
class _Answer:
    """A finished call, kept to guess the reach of later ones."""

    time: datetime
    vertices: np.ndarray
    distances: np.ndarray


@dataclass(frozen=True)
class _Batch:
    rows: np.ndarray  # positions (in the vertex list) of the sources searched together
    limit: float


class PathSearch:
    """Dijkstra between vertex sets; close() (or a with-block) ends its helper processes."""

    def __init__(self, workers: int = 1) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._answers: list[_Answer] = []

    def distances(self, graph: LinkGraph, vertices: np.ndarray, moment: datetime) -> np.ndarray:
        """Summed composite weights between all `vertices` (K x K, symmetric, inf: none)
        in the graph of instant `moment`. See `graph.decode_path_weights` for their meaning.
        """
        vertices = np.asarray(vertices, dtype=np.int64)
        count = len(vertices)
        result = np.full((count, count), np.inf)
        np.fill_diagonal(result, 0.0)
        _, component = connected_components(graph.matrix, directed=False)
        needed = component[vertices][:, None] == component[vertices][None, :]
        guess = self._guess(vertices, moment)
        order = np.argsort(-guess.sum(axis=1), kind="stable")  # unknown (inf) ones first
        rank = np.empty(count, dtype=np.int64)
        rank[order] = np.arange(count)
        needed &= rank[:, None] < rank[None, :]  # each pair from its earlier end
        self._run(graph, vertices, self._plan(needed, guess, graph.vertices), result, needed)
        missed = needed & np.isinf(result)
        retry = np.flatnonzero(missed.any(axis=1))
        if len(retry):  # a guess was too short: search those again, unlimited
            self._run(graph, vertices, [[_Batch(retry, np.inf)]], result, needed)
        result = np.minimum(result, result.T)
        self._answers = [_Answer(moment, vertices, result), *self._answers][:_REMEMBERED_CALLS]
        return result

    def route(self, graph: LinkGraph, source: int, target: int) -> list[int]:
        """The vertices of the shortest path from `source` to `target` ([] if none)."""
        distance, predecessor = dijkstra(
            graph.matrix, directed=True, indices=source, return_predecessors=True
        )
        if not np.isfinite(distance[target]):
            return []
        path = [target]
        while path[-1] != source:
            path.append(int(predecessor[path[-1]]))
        return path[::-1]

    def _guess(self, vertices: np.ndarray, moment: datetime) -> np.ndarray:
        """Remembered distances between these vertices from the nearest instant, widened by
        the margin (inf: unknown)."""
        count = len(vertices)
        guess = np.full((count, count), np.inf)
        apart_s, nearest = min(
            ((abs((answer.time - moment).total_seconds()), answer) for answer in self._answers),
            default=(np.inf, None),
            key=lambda item: item[0],
        )
        if nearest is None or apart_s > _GUESS_HORIZON_S:
            return guess
        before = nearest.vertices
        position = np.minimum(np.searchsorted(before, vertices), len(before) - 1)
        rows = np.flatnonzero(before[position] == vertices)
        guess[np.ix_(rows, rows)] = nearest.distances[np.ix_(position[rows], position[rows])]
        margin_ms = _GUESS_MARGIN_MS + _GUESS_DRIFT_MS_PER_S * apart_s
        return guess * _GUESS_FACTOR + composite_from_ms(margin_ms)

    def _plan(self, needed: np.ndarray, guess: np.ndarray, vertices: int) -> list[list[_Batch]]:
        """Searches per worker: sources balanced by estimated cost, then grouped by reach.

        A search's reach is the guessed distance of the farthest vertex it needs; its cost
        is taken as the part of a sphere a cap of that radius covers, the largest guess
        standing for half the circumference (no guess: the whole graph).
        """
        sources = np.flatnonzero(needed.any(axis=1))
        if not len(sources):
            return []
        reach = np.where(needed[sources], guess[sources], 0.0).max(axis=1, initial=0.0)
        known = np.isfinite(reach)
        diameter = reach[known].max(initial=0.0) or 1.0
        cap = (1.0 - np.cos(np.pi * np.minimum(reach / diameter, 1.0))) / 2.0
        cost = np.where(known, cap, 1.0)
        parallel = cost.sum() * vertices >= _PARALLEL_MIN_VISITS
        workers = min(self.workers, len(sources)) if parallel else 1
        owner = np.zeros(len(sources), dtype=np.int64)
        load = np.zeros(workers)
        for k in np.argsort(-cost, kind="stable"):  # longest first, to the least loaded
            owner[k] = int(np.argmin(load))
            load[owner[k]] += cost[k]
        plan = []
        for worker in range(workers):
            mine = np.flatnonzero(owner == worker)
            mine = mine[np.argsort(reach[mine], kind="stable")]
            parts = np.array_split(mine, min(len(mine), _BATCHES_PER_WORKER))
            plan.append([_Batch(sources[part], float(reach[part].max())) for part in parts])
        return plan

    def _run(
        self,
        graph: LinkGraph,
        vertices: np.ndarray,
        plan: list[list[_Batch]],
        result: np.ndarray,
        needed: np.ndarray,
    ) -> None:
        """Run the plan (first share here, the others in helpers); keep the needed entries."""
        if not plan:
            return
        matrix = graph.matrix
        arrays = (matrix.indptr, matrix.indices, matrix.data, graph.vertices)
        searches = [[(vertices[b.rows], b.limit) for b in share] for share in plan]
        pending = [
            self._helpers().submit(_distance_rows, *arrays, share, vertices)
            for share in searches[1:]
        ]
        answers = [_distance_rows(*arrays, searches[0], vertices)]
        answers += [future.result() for future in pending]
        for share, rows_of_share in zip(plan, answers, strict=True):
            for batch, rows in zip(share, rows_of_share, strict=True):
                keep = needed[batch.rows]
                result[batch.rows] = np.where(keep, rows, result[batch.rows])

    def _helpers(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context("spawn")  # safe next to threads (rich, typer)
            self._pool = ProcessPoolExecutor(self.workers - 1, mp_context=context)
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def __enter__(self) -> PathSearch:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
