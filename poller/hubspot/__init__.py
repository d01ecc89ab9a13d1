"""The HubSpot adapter: the portal (HTTP, budget, error mapping), the task+note sink, owners and deals."""
