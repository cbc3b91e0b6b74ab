"""The feature store: Feast definitions, online lookups with freshness, point-in-time training
sets, freshness and skew checks. Only :mod:`driftpilot.features.store` imports feast."""
