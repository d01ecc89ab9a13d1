"""Loopback HTTP simulators of Partner Central and HubSpot that the real boto3 and hubspot-api-client talk to."""
