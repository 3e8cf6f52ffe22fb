"""A simulated Shanghai that drives every scenario through the platform's real interfaces.

`city.build_city(seed=…, scale=…)` writes the base city — enterprises, projects with their
parties and geofences, people on key posts, planted anomalies and demo logins — the same
for the same seed. Scenarios (dust, pits, attendance) add their devices and data on top,
drawing from their own stream `city.rng_for(seed, "<scenario>")` so they never shift it.
`orders` replays two weeks of work orders and keeps findings arriving while the demo runs.

Each scenario is one module (or package) here, plugged in through `scenarios.MODULES`: the
city, its people and the order machinery name none of them. Nothing in the product imports
the simulator; the CLI (`smartsite demo`, `seed`, `simulate`, `devices`) is its only user.
"""
