"""The hazard lifecycle: Hazard records, evidence, plans, rectifications, audit events and HazardFlow."""
