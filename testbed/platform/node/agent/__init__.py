"""The node agent: one per emulated node, it runs function instances and the node's Redis.

It deploys instances over HTTP, runs their sync handlers in worker threads, carries their
messages to other agents over HTTP, stores their state through the state middleware,
restarts them when a handler raises, and leaves a record of every invocation.
"""
