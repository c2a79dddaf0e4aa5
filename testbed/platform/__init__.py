"""The serverless platform that runs inside the nodes: info service, scheduler, state, runtime."""
