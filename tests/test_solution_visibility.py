"""A student reads at most 5 % of a solution's 6-grams before opening a collapsed block."""

import pytest

from tests.notebooks import assignment_ids
from tests.solution_visibility import DETAILS_BLOCK, MAX_VISIBLE_SHARE, WORD_OR_PUNCTUATION, visible_share


@pytest.mark.parametrize("assignment", assignment_ids())
def test_little_of_the_solution_is_readable_outside_collapsed_blocks(assignment):
    share, visible = visible_share(assignment)
    examples = "; ".join(" ".join(gram) for gram in sorted(visible)[:8])
    assert share <= MAX_VISIBLE_SHARE, (
        f"{assignment}: {100 * share:.1f} % of the solution's 6-grams are readable in the release outside "
        f"<details> blocks (at most {100 * MAX_VISIBLE_SHARE:.0f} %), e.g. {examples}"
    )


def test_the_measure_hides_details_blocks_and_splits_words_from_punctuation():
    text = "before <details><summary>Hint 1</summary>np.add.at(dx, idx, dout)</details> after"
    assert DETAILS_BLOCK.sub("", text) == "before  after"
    assert WORD_OR_PUNCTUATION.findall("dx[i] += 1") == ["dx", "[", "i", "]", "+", "=", "1"]
