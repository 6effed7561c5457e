"""Tutoring modes on top of answers: Socratic hints, quizzes and their grading, learning paths over the
handbook's outline."""
