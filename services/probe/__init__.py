"""The probe agent: health for cameras that cannot send a heartbeat (issue 16)."""
