"""The planner's pages: tasks (``tasks``), the calendar and its feed (``calendar``),
absences (``absences``), the teams' digest times (``teams``)."""
