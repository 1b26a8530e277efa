"""Incidents: forms, timeline, customer updates, post-mortems (see the incidents issue)."""
