"""The Partner Central simulator: opportunities, AWS summaries and invitations over awsJson 1.0 on loopback, with faults."""
