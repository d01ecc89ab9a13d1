"""Every budget the job keeps: request buckets, Partner Central's pace and daily reads, and a run's own limits."""
