"""The soak harness: a simulated month of Partner Central and HubSpot traffic, with ground truth kept apart from poller."""
