"""Scheduled check-ins: plan each customer's next touch, dispatch due ones, run their flows.

SQL is the truth: a check-in row per planned touch, unique per schedule, customer and
occurrence. The scheduler's tick plans schedules (a cadence in one statement where the store
can), claims due rows in batches (skipping rows another scheduler holds) and queues one task
per 50 rows; the task re-checks the contact rules under the customers' locks, starts the
flows and moves the rows from claimed to sent in the same transaction as their outbox rows,
so a crash anywhere leaves one touch per occurrence.
"""
