"""The Partner Central Benefits simulator: benefit applications and allocations over awsJson 1.0 on loopback."""
