"""Generated documents for deals: the data they show (``context``), amounts in words
(``amounts``), DOCX templates filled with docxtpl (``docx_file``) and the PDF drawn with
fpdf2 from the same data (``pdf_file``). Nothing here writes to the database: the service
``crm.sales.services.documents`` numbers, stores and records them."""
