"""Dependencies of the agent's local endpoints."""

from typing import Annotated

from fastapi import Depends, Request

from services.probe.agent import Agent


def get_agent(request: Request) -> Agent:
    """The agent this local app serves."""
    agent: Agent = request.app.state.agent
    return agent


AgentDep = Annotated[Agent, Depends(get_agent)]
