# What a class on the hub adds to the course's nbgrader_config.py. hub/prepare_class.py appends this
# file to the instructor's copy (home/bp-instructor/backprop/nbgrader_config.py), which both
# formgrader and `course grade` read. The exchange's place is set per user in etc/jupyter/.

# A submission after the assignment's due date (set in formgrader, or with
# `nbgrader db assignment add ID --duedate=...`) scores zero: nbgrader's own late-penalty plugin.
# Autograding records the raw grade of every cell and the penalty separately, so an instructor
# who accepts an excuse sees what the work was worth.
c.LateSubmissionPlugin.penalty_method = "zero"  # noqa: F821 (c comes from the course's config)
