"""The HubSpot simulator: CRM objects, owners, properties and associations over loopback HTTP, with faults and limits."""
