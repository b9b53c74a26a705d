"""A simulated Ho Chi Minh City camera fleet that talks to the services only over their public HTTP API."""
