"""From desired and live state to a Plan: diff, canonical forms, the pure planner, the Plan value and saved plan files."""
