"""No views: see ``crm.activities.urls`` for why the timeline pages live in the domain apps."""
