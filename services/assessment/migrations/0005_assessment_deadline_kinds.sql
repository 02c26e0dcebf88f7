-- assessment 0005: the decision's remaining due events (issue 5, item 5): barnets plan due
-- ('plan_due', a warning before 'plan_overdue'), and the appeal deadline ('appeal_due', a
-- warning before it ends; 'appeal_expired', when it has passed: the decision is final unless
-- an appeal was received).
ALTER TABLE assessment.deadline DROP CONSTRAINT deadline_kind_check;
ALTER TABLE assessment.deadline ADD CONSTRAINT deadline_kind_check
    CHECK (kind IN ('investigation_due_soon', 'investigation_overdue', 'plan_due', 'plan_overdue',
                    'followup_due', 'followup_overdue', 'appeal_due', 'appeal_expired'));
