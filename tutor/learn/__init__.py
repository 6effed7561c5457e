"""Learning that lasts: cards from cited passages, FSRS reviews, the learner database, progress over the roadmap."""
