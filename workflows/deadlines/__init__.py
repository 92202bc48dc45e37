"""Deadlines: SLA policy as data, the working-day calendar, deadline rows, the sweep and the ladder.

Generic: a deadline belongs to a subject (``app_label.model`` + id) and a stage and names chain
roles; the subject's app opens and closes deadlines and resolves roles to people (see ``registry``).
"""
