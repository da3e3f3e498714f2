"""hvdeck's engine: inventory, sessions, backends, plans and the fleet. Knows nothing of the UI."""
