"""Reach: the counts of the organisation's posts collected back from the networks, the target's answers, and
the report built from them (issue 12).

- tables.py: the snapshots, the target's responses and each account's read state (cursor, read budget);
- schedule.py: which posts are due a reading (10 min, 1 h, 6 h, 1 day, 3 days after publication, then
  daily while the campaign is open) and the read budgets;
- collect.py: one collection pass (the daemon's periodic job and `report --refresh` call it);
- responses.py: notifications turned into target_responses rows;
- report.py: the per campaign / network / post figures and their totals over time;
- chart.py: the server-side SVG chart; cli.py: `campaign-bot report`.
"""
