"""Who may do what with e-mail (see ``crm.core.policies``).

* Shared templates (no owner) are managed by administrators (``SHARED_TEMPLATES``) and
  offered to everyone; a personal template is seen and managed by its owner alone — anyone
  else is answered 404, as for a record they may not see.
* Writing an e-mail from a record is a change of the record: whoever may change it (its
  kind's policy, ``CHANGE``) may write; whoever may see it sees its e-mails.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from crm.core.policies import AdminOnlyPolicy

SHARED_TEMPLATES = AdminOnlyPolicy(_("Only an administrator manages shared templates."))
