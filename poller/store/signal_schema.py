"""The tables of the 2026 signals (migration m012_signals): funding (Partner Central Benefits), as SQL text."""

SIGNAL_TABLES = """
        CREATE TABLE benefit_applications (
            application_id TEXT PRIMARY KEY,
            status TEXT NOT NULL,                 -- BenefitApplicationStatus as AWS sent it
            updated_at TEXT,                      -- AWS UpdatedAt
            record TEXT NOT NULL,                 -- JSON of core.funding.BenefitApplication (ids, names, no people)
            first_seen_at TEXT NOT NULL,
            seen_at TEXT NOT NULL
        );

        CREATE TABLE benefit_allocations (
            allocation_id TEXT PRIMARY KEY,
            application_id TEXT,
            status TEXT NOT NULL,
            expires_at TEXT,                      -- AWS ExpiresAt
            record TEXT NOT NULL,                 -- JSON of core.funding.BenefitAllocation
            baseline INTEGER NOT NULL DEFAULT 0,  -- 1: already inside its reminder window when the baseline saw it
            first_seen_at TEXT NOT NULL,
            seen_at TEXT NOT NULL
        );
        """
