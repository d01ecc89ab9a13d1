"""What a notification says: per-kind wording and phrases, descriptions of people and spend, and the rendering."""
