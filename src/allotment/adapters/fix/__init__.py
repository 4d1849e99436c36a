"""The FIX door: a QuickFIX acceptor over the same services and ledger as the HTTP dialects."""
