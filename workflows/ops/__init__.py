"""Operations: beat and worker heartbeats, the /healthz probe."""
