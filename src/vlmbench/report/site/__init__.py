"""The static leaderboard site: leaderboard, a page per model, methodology; no server needed."""
