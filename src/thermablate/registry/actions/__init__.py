"""The only writers of clinical and governance records.

Every function validates the whole record (``full_clean``), saves it and writes the audit
entry in one transaction, so a refused or failed write leaves nothing behind and no write
escapes the audit trail. Views, the API, the importer, the demo and the command line parse and
authorise, then call one of these. One module per kind of record:

- ``records``: a patient and every step of their journey;
- ``governance``: local approvals, credentialed operators, a procedure under its approval;
- ``corrections``: corrections with a reason, "entered in error" and its undo, a patient's
  status, a time point that could not be done;
- ``catalogue``: the NICE guidance catalogue;
- ``base``: the snapshot, audit entry and validated create and update they share.
"""

from thermablate.registry.actions.base import StaleRecordError, record_audit, snapshot
from thermablate.registry.actions.catalogue import (
    import_record,
    load_shipped_catalogue,
    record_key,
)
from thermablate.registry.actions.corrections import (
    CORRECTABLE_MODELS,
    correct_record,
    mark_entered_in_error,
    record_not_done,
    record_patient_status,
    undo_entered_in_error,
)
from thermablate.registry.actions.data_quality import acknowledge_finding, record_findings_export
from thermablate.registry.actions.governance import (
    credential_operator,
    record_approval,
    record_governed_procedure,
    supersede_approval,
    withdraw_approval,
    withdraw_credential,
)
from thermablate.registry.actions.governance_corrections import (
    correct_approval,
    correct_credential,
)
from thermablate.registry.actions.records import (
    add_lesion,
    correct_procedure,
    create_patient,
    record_adverse_event,
    record_assessment,
    record_coding,
    record_consent,
    record_mdt_decision,
    record_procedure,
    reencrypt_identifiers,
    update_adverse_event,
    update_patient,
)

__all__ = [
    "CORRECTABLE_MODELS",
    "StaleRecordError",
    "correct_approval",
    "correct_credential",
    "correct_procedure",
    "correct_record",
    "mark_entered_in_error",
    "record_not_done",
    "record_patient_status",
    "undo_entered_in_error",
    "acknowledge_finding",
    "add_lesion",
    "create_patient",
    "credential_operator",
    "import_record",
    "load_shipped_catalogue",
    "record_adverse_event",
    "record_approval",
    "record_assessment",
    "record_audit",
    "record_coding",
    "record_consent",
    "record_findings_export",
    "record_governed_procedure",
    "record_key",
    "record_mdt_decision",
    "record_procedure",
    "reencrypt_identifiers",
    "snapshot",
    "update_adverse_event",
    "update_patient",
    "supersede_approval",
    "withdraw_approval",
    "withdraw_credential",
]
