"""URLs of the planner, mounted under /tasks/."""

from django.urls import path

from crm.planner.views import absences, calendar, tasks, teams

app_name = "planner"

urlpatterns = [
    path("", tasks.my_day, name="my_day"),
    path("list/", tasks.task_list, name="task_list"),
    path("new/", tasks.task_create, name="task_create"),
    path("<int:pk>/", tasks.task_detail, name="task_detail"),
    path("<int:pk>/edit/", tasks.task_edit, name="task_edit"),
    path("<int:pk>/complete/", tasks.task_complete, name="task_complete"),
    path("<int:pk>/reopen/", tasks.task_reopen, name="task_reopen"),
    path("<int:pk>/cancel/", tasks.task_cancel, name="task_cancel"),
    path("<int:pk>/reschedule/", tasks.task_reschedule, name="task_reschedule"),
    path("<int:pk>/reassign/", tasks.task_reassign, name="task_reassign"),
    path("calendar/", calendar.calendar, name="calendar"),
    path("calendar/feed/", calendar.feed_settings, name="feed_settings"),
    path("feed/<str:token>.ics", calendar.feed, name="feed"),
    path("absences/", absences.absence_list, name="absence_list"),
    path("absences/new/", absences.absence_create, name="absence_create"),
    path("absences/<int:pk>/cancel/", absences.absence_cancel, name="absence_cancel"),
    path("digests/", teams.team_digests, name="team_digests"),
]
